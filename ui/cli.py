"""The `disclose` command: a global --home and one module of commands per area."""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Optional

import typer

from disclose.workspace import open_workspace

app = typer.Typer(
    name="disclose",
    help="Find, review, redact and hand over what a public body holds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module adds its commands with register(app). Order is the order of --help.
COMMAND_MODULES = [
    "ui.commands.ingest",
    "ui.commands.crawl",
    "ui.commands.search",
    "ui.commands.requests",
    "ui.commands.bundle",
    "ui.commands.admin",
    "ui.commands.serve",
    "ui.commands.demo",
    "ui.commands.identity",
    "ui.commands.custodians",
]


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[
        Optional[str],
        typer.Option("--home", help="Workspace folder (default: $DISCLOSE_HOME, else ./disclose-data)."),
    ] = None,
) -> None:
    ctx.obj = open_workspace(home)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue  # an area not built yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
