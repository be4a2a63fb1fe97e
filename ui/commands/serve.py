"""`disclose serve`: the web application and JSON API on one port."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    ) -> None:
        """Serve the web application (search, review, bundles) and the API (OpenAPI at /docs)."""
        import uvicorn

        from ui.web.app import create_app

        typer.echo(f"disclose is serving {ctx.obj.home} at http://{host}:{port}/  (API docs: /docs)", err=True)
        uvicorn.run(create_app(ctx.obj), host=host, port=port, log_level="warning")
