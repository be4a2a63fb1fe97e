"""`disclose bundle REF --out DIR`, `disclose bundle verify DIR` and `disclose export REF --format legal|rsmf --out DIR`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from indexer.services import open_services
from search_api.bundle.builder import build_bundle
from search_api.bundle.manifest import verify_manifest
from search_api.bundle.model import BundleError, LeakError
from ui.output import BadInput, JsonFlag, emit, fail, guarded

FORMATS = ("legal", "rsmf")


def _progress(event: dict[str, object]) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{event['stage']}: {event['done']}/{event['total']} documents, {event['pages']} pages   ")
        sys.stderr.flush()


def register(app: typer.Typer) -> None:
    @app.command()
    def bundle(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="The request reference, or 'verify' to check a bundle folder.")],
        folder: Annotated[Optional[Path], typer.Argument(help="With 'verify': the bundle folder to check.")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="An empty or new folder for the bundle.")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Write the redacted disclosure bundle of a request (or `bundle verify DIR` to re-check one)."""
        if ref == "verify" and folder is not None:
            _verify(folder, as_json)
            return

        def work():  # type: ignore[no-untyped-def]
            if folder is not None:
                raise BadInput(f"unexpected argument {folder}: use `disclose bundle REF --out DIR` or `disclose bundle verify DIR`")
            if out is None:
                raise BadInput("say where to write the bundle: --out DIR")
            services = open_services(ctx.obj)
            try:
                return build_bundle(services.store, services.evidence, ref, out, progress=None if as_json else _progress)
            except BundleError as error:
                raise BadInput(str(error)) from None
            except LeakError as error:
                fail(str(error), 1, as_json)
            finally:
                services.close()

        summary = guarded(as_json, work)
        emit(summary, as_json, _print_bundle)

    @app.command()
    def export(
        ctx: typer.Context,
        ref: Annotated[str, typer.Argument(help="The request reference.")],
        format: Annotated[str, typer.Option("--format", help="legal (natives, text, images, DAT/OPT/CSV) or rsmf (chat).")] = "legal",
        out: Annotated[Optional[Path], typer.Option("--out", help="An empty or new folder for the export.")] = None,
        prefix: Annotated[str, typer.Option("--prefix", help="Bates prefix (legal); default from the reference.")] = "",
        start: Annotated[int, typer.Option("--start", help="First Bates number (legal).")] = 1,
        as_json: JsonFlag = False,
    ) -> None:
        """Export a request's released documents for other review tools."""

        def work():  # type: ignore[no-untyped-def]
            if format not in FORMATS:
                raise BadInput(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
            if out is None:
                raise BadInput("say where to write the export: --out DIR")
            services = open_services(ctx.obj)
            try:
                if format == "legal":
                    from search_api.export.legal import export_legal

                    return export_legal(services.store, services.evidence, ref, out, prefix=prefix, start=start)
                from search_api.export.rsmf import export_rsmf

                return export_rsmf(services.store, services.evidence, ref, out)
            except LeakError as error:
                fail(str(error), 1, as_json)
            except (BundleError, ValueError) as error:
                raise BadInput(str(error)) from None
            finally:
                services.close()

        summary = guarded(as_json, work)
        emit(summary, as_json, lambda s: print(f"Exported {ref} ({format}) to {s.out}"))


def _verify(folder: Path, as_json: bool) -> None:
    def work():  # type: ignore[no-untyped-def]
        if not (folder / "manifest.json").is_file():
            raise BadInput(f"no manifest.json in {folder}")
        try:
            return verify_manifest(folder)
        except ValueError as error:
            raise BadInput(f"unreadable manifest.json: {error}") from None

    result = guarded(as_json, work)
    if result.ok:
        emit(result, as_json, lambda r: print(f"OK: {r.checked} files match manifest.json"))
        return
    problems = [f"changed: {n}" for n in result.changed] + [f"missing: {n}" for n in result.missing] + [f"not in the manifest: {n}" for n in result.unexpected]
    if as_json:
        emit(result, True)
    sys.stderr.write(f"disclose: bundle does not match its manifest: {'; '.join(problems)}\n")
    raise typer.Exit(2)


def _print_bundle(summary) -> None:  # type: ignore[no-untyped-def]
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(
        f"Bundle {summary.ref}: {summary.released} of {summary.documents} documents released, {summary.pages} pages, "
        f"{summary.markers} redactions; leak check {summary.leak_check}.\n  {summary.out}/{summary.combined_pdf}"
    )
