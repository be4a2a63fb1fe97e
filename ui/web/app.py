"""The whole application `disclose serve` runs: the JSON API plus the web pages and their assets.

Pages and the API share paths (`/requests`, `/items/{id}`): a browser navigating (Accept: text/html)
gets the page, every other client gets JSON, so the API stays exactly as documented."""

from __future__ import annotations

import re
from importlib import import_module

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from disclose.workspace import Workspace
from indexer.services import Services
from search_api.app import create_api
from ui.web.security import SameOriginOnly, SecurityHeaders
from ui.web.templating import HERE, templates

PAGE_MODULES = [
    "ui.web.pages.requests",
    "ui.web.pages.search",
    "ui.web.pages.documents",
    "ui.web.pages.review",
    "ui.web.pages.bundle",
    "ui.web.pages.ingest",
]


# Page routes that serve any client, not only a browser navigating: images and frames ask with other Accept headers.
ANY_CLIENT_PATHS = re.compile(r"^/items/[^/]+/(native|email-body)$")


def wants_html(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"accept":
            return b"text/html" in value
    return False


class PagesFirst:
    """Send browser navigations to the pages app when one of its routes matches; all else to the API."""

    def __init__(self, app: ASGIApp, pages: FastAPI) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            html = wants_html(scope)
            for route in self.pages.router.routes:
                if not html and not ANY_CLIENT_PATHS.match(scope["path"]):
                    break
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    await self.pages(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def create_pages(services: Services) -> FastAPI:
    pages = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    pages.state.services = services
    for name in PAGE_MODULES:
        pages.include_router(import_module(name).router)

    @pages.exception_handler(StarletteHTTPException)
    async def page_error(request: Request, error: StarletteHTTPException) -> HTMLResponse:
        title = "Page not found" if error.status_code == 404 else "Sorry, there is a problem"
        return templates.TemplateResponse(
            request, "error.html", {"title": title, "detail": str(error.detail)}, status_code=error.status_code
        )

    return pages


def create_app(workspace: Workspace | None = None, services: Services | None = None) -> FastAPI:
    app = create_api(workspace, services)
    pages = create_pages(app.state.services)
    app.state.pages = pages
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(PagesFirst, pages=pages)
    app.add_middleware(SameOriginOnly)
    app.add_middleware(SecurityHeaders)
    from search_api.routes.ingest import recover_interrupted_runs

    recover_interrupted_runs(app.state.services)
    return app
