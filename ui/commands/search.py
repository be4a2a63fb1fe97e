"""`disclose search`, `disclose terms` and `disclose saved`: the query language from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from disclose.query import QuerySyntaxError
from indexer.index.base import BadCursor
from indexer.services import Services, open_services
from search_api.audit import resolve_actor
from search_api.saved import SavedSearchNotFound, list_saved, run_saved, save_search
from search_api.search import SearchResults, run_search
from search_api.terms import TermsReport, queries_from_text, report_csv, terms_report
from ui.output import BadInput, JsonFlag, emit, guarded


def _with_services(ctx: typer.Context, work: Callable[[Services], Any]) -> Any:
    services = open_services(ctx.obj)
    try:
        return work(services)
    except QuerySyntaxError as error:
        raise BadInput(f"query syntax: {error.message} at position {error.position}", position=error.position) from None
    except (BadCursor, SavedSearchNotFound) as error:
        raise BadInput(str(error)) from None
    finally:
        services.close()


def _print_results(results: SearchResults) -> None:
    extra = f", {results.duplicates_hidden} duplicate(s) hidden" if results.duplicates_hidden else ""
    print(f"{results.total} item(s) ({results.unique} unique, {results.families} families{extra})")
    for hit in results.hits:
        when = hit.date.date().isoformat() if hit.date else "----------"
        indent = "    " if hit.family_member else ""
        print(f"{indent}{hit.id}  {when}  {hit.kind:<17} {hit.title or hit.filename}")
        snippet = hit.snippet.replace("<mark>", "[").replace("</mark>", "]")
        if snippet:
            print(f"{indent}    {snippet}")
    if results.next_cursor:
        print(f"More: --cursor {results.next_cursor}")


def _print_terms(report: TermsReport) -> None:
    for line in report.lines:
        if line.error:
            print(f"{line.line:>4}  ERROR {line.error} (position {line.position})  {line.query}")
            continue
        print(f"{line.line:>4}  hits {line.hits:>8}  unique {line.unique_hits:>8}  with families {line.hits_with_families:>8}  {line.query}")
    print(f"Total (any line): {report.total}; with families: {report.total_with_families}")


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        ctx: typer.Context,
        query: Annotated[str, typer.Argument(help='Query, e.g. \'housing W/5 "rent arrears" date>=2021-01-01\'.')],
        limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Hits per page.")] = 50,
        cursor: Annotated[Optional[str], typer.Option("--cursor", help="next_cursor from the previous page.")] = None,
        sort: Annotated[str, typer.Option("--sort", help="relevance or date (newest first).")] = "relevance",
        duplicates: Annotated[bool, typer.Option("--duplicates", help="Include duplicate copies.")] = False,
        families: Annotated[bool, typer.Option("--families", help="Show every member of each hit's family.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Search the workspace with the query language (see README: Search)."""

        def work(services: Services) -> SearchResults:
            if sort not in ("relevance", "date"):
                raise BadInput("--sort must be relevance or date")
            return run_search(services, query, limit=limit, cursor=cursor, sort=sort,  # type: ignore[arg-type]
                              include_duplicates=duplicates, families=families)

        results = guarded(as_json, lambda: _with_services(ctx, work))
        emit(results, as_json, _print_results)

    @app.command()
    def terms(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="One query per line; blank lines and # comments are skipped.")],
        csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Also write the report as CSV here.")] = None,
        duplicates: Annotated[bool, typer.Option("--duplicates", help="Count duplicate copies too.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Search term report: hits, unique hits, hits with families and custodians for each line."""

        def work(services: Services) -> TermsReport:
            if not file.is_file():
                raise BadInput(f"no such file: {file}")
            queries = queries_from_text(file.read_text(encoding="utf-8", errors="replace"))
            if not queries:
                raise BadInput(f"{file} has no queries (one per line)")
            report = terms_report(services, queries, include_duplicates=duplicates)
            if csv_out is not None:
                csv_out.write_text(report_csv(report), encoding="utf-8")
            return report

        report = guarded(as_json, lambda: _with_services(ctx, work))
        emit(report, as_json, _print_terms)

    saved_app = typer.Typer(help="Saved searches: named queries with who ran them, when, and the counts then.", no_args_is_help=True)
    app.add_typer(saved_app, name="saved")

    @saved_app.command("save")
    def saved_save(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="A name for the search.")],
        query: Annotated[str, typer.Argument(help="The query to keep.")],
        actor: Annotated[Optional[str], typer.Option("--actor", help="Who is saving it (default: $DISCLOSE_USER or the OS user).")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Save (or replace) a named search, recording its counts now."""
        view = guarded(as_json, lambda: _with_services(ctx, lambda s: save_search(s, name, query, author=resolve_actor(actor))))
        emit(view, as_json, lambda v: print(f"Saved {v.name!r}: {v.counts.get('total', 0)} item(s)"))

    @saved_app.command("list")
    def saved_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """Every saved search with its last run."""
        views = guarded(as_json, lambda: _with_services(ctx, list_saved))

        def human(rows: Any) -> None:
            for v in rows:
                when = v.run_at.isoformat(timespec="seconds") if v.run_at else "never"
                print(f"{v.name}: {v.query}  [{v.counts.get('total', 0)} item(s), {v.author}, {when}]")

        emit(views, as_json, human)

    @saved_app.command("run")
    def saved_run(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="The saved search's name.")],
        limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
        actor: Annotated[Optional[str], typer.Option("--actor")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Run a saved search; its counts, runner and time are recorded."""

        def work(services: Services) -> dict[str, Any]:
            view, results = run_saved(services, name, author=resolve_actor(actor), limit=limit)
            return {"saved": view, **results.model_dump(mode="json")}

        payload = guarded(as_json, lambda: _with_services(ctx, work))
        emit(payload, as_json, lambda p: _print_results(SearchResults.model_validate({k: v for k, v in p.items() if k != "saved"})))
