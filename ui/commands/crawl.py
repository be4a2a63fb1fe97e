"""`disclose crawl …`: one subcommand per remote source; each lives in its own module."""

from __future__ import annotations

from importlib import import_module

import typer

crawl_app = typer.Typer(help="Collect from a live source (IMAP, Exchange, Microsoft Graph, SMB).", no_args_is_help=True)

SOURCE_MODULES = ["ui.commands.crawl_mail", "ui.commands.crawl_smb"]


def register(app: typer.Typer) -> None:
    for name in SOURCE_MODULES:
        try:
            import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
    app.add_typer(crawl_app, name="crawl")
