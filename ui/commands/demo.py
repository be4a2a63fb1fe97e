"""`disclose demo`: a sample workspace and FOI request, end to end, on this machine."""

from __future__ import annotations

import typer

from ui.output import JsonFlag, emit, guarded


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """Build a sample workspace (emails, office files, a WhatsApp chat, screenshots), run an FOI request
        with a redaction, and write its bundle."""
        from ui.demo.run import run_demo

        say = (lambda _: None) if as_json else (lambda line: typer.echo(line))
        result = guarded(as_json, lambda: run_demo(ctx.obj, say))
        emit(result, as_json, lambda r: typer.echo(
            f"\nDone in {r.seconds} s. Bundle: {r.bundle_pdf}\n"
            f"Open the web application:\n  {r.open_with}\n"
            f"Or search from here:\n  disclose --home {r.home} search 'housing budget'"))
