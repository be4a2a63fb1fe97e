"""The FastAPI application: the JSON API of every area, plus the web pages `ui` adds."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

from disclose import __version__
from disclose.workspace import Workspace
from indexer.services import Services, open_services

ROUTE_MODULES = [
    "search_api.routes.items",
    "search_api.routes.search",
    "search_api.routes.requests",
    "search_api.routes.bundle",
    "search_api.routes.ingest",
]


def create_api(workspace: Workspace | None = None, services: Services | None = None) -> FastAPI:
    app = FastAPI(title="disclose", version=__version__, description="Find, review, redact and hand over what a public body holds.")
    app.state.services = services or open_services(workspace)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in ROUTE_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        app.include_router(module.router)
    return app
