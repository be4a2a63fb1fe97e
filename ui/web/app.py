"""The whole application `disclose serve` runs: the JSON API plus the web pages and their assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from disclose.workspace import Workspace
from indexer.services import Services
from search_api.app import create_api
from ui.web.security import SecurityHeaders

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html


def create_app(workspace: Workspace | None = None, services: Services | None = None) -> FastAPI:
    app = create_api(workspace, services)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "") -> HTMLResponse:
        results, error = None, ""
        if q.strip():
            from search_api.search import run_search

            try:
                results = run_search(request.app.state.services, q, limit=50)
            except ValueError as problem:
                error = str(problem)
        return templates.TemplateResponse(request, "search.html", {"q": q, "results": results, "error": error})

    return app
