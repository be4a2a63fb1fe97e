"""`disclose ingest`, `show` and `exceptions`: bring files in, look at one item, see what could not be read."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from tqdm import tqdm

from disclose.workspace import Workspace
from indexer.pipeline import RunReport, ingest_paths
from indexer.services import open_services
from search_api.items import exceptions_report, item_view
from ui.output import BadInput, JsonFlag, emit, guarded


def checked_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {name!r} (use an IANA name such as Europe/London)") from None
    return name


def _print_report(report: RunReport) -> None:
    data = report.summary()
    print(
        f"Ingested {data['stored']} new original(s) ({data['items_added']} items, {data['duplicates']} duplicates); "
        f"{data['unchanged']} unchanged; {data['problems']} problem(s) in {data['seconds']} s."
    )
    if data["problems"]:
        print("See them with: disclose exceptions")


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Files or folders (a mounted share is just a folder).")],
        custodian: Annotated[Optional[list[str]], typer.Option("--custodian", help="Whose material this is.")] = None,
        custodian_map: Annotated[Optional[Path], typer.Option("--custodian-map", help="Path patterns -> custodians.")] = None,
        timezone: Annotated[str, typer.Option("--timezone", help="Zone for local times in chat exports.")] = "Europe/London",
        include: Annotated[Optional[list[str]], typer.Option("--include", help="Only paths matching this glob.")] = None,
        exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Skip paths matching this glob.")] = None,
        workers: Annotated[int, typer.Option("--workers", min=1, max=32)] = 2,
        as_json: JsonFlag = False,
    ) -> None:
        """Collect files and folders into the workspace; running it twice adds nothing the second time."""
        workspace: Workspace = ctx.obj

        def work() -> RunReport:
            missing = [str(p) for p in paths if not p.exists()]
            if missing:
                raise BadInput(f"no such file or folder: {', '.join(missing)}")
            if not custodian and custodian_map is None:
                raise BadInput("say whose material this is: --custodian NAME or --custodian-map FILE")
            zone = checked_timezone(timezone)
            options: dict[str, object] = {"include": include or [], "exclude": exclude or []}
            services = open_services(workspace)
            if custodian_map is not None:
                options.update(_custodian_rules(custodian, custodian_map, services))
            try:
                return ingest_paths(services, paths, list(custodian or []), timezone=zone, workers=workers,
                                    crawler_options=options, progress=None if as_json else _progress_bar())
            finally:
                services.close()

        report = guarded(as_json, work)
        emit(report.summary(), as_json, lambda _: _print_report(report))

    @app.command()
    def show(ctx: typer.Context, item_id: Annotated[str, typer.Argument(help="An item id from search results.")], as_json: JsonFlag = False) -> None:
        """One item in full: metadata, text, family, duplicates and chain of custody."""

        def work():  # type: ignore[no-untyped-def]
            services = open_services(ctx.obj)
            view = item_view(services, item_id)
            if view is None:
                raise BadInput(f"no item with id {item_id}")
            _audit_view(services, item_id)
            return view

        view = guarded(as_json, work)
        emit(view, as_json, _print_item)

    @app.command()
    def exceptions(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """The exceptions report: every file or item that could not be (fully) read, with the reason."""
        entries = guarded(as_json, lambda: exceptions_report(open_services(ctx.obj)))
        if as_json:
            emit({"total": len(entries), "exceptions": entries}, True)
            return
        if not entries:
            print("No exceptions.")
        for entry in entries:
            print(f"[{entry.stage}] {entry.path}\n    {entry.reason}")


def _custodian_rules(custodian: Optional[list[str]], map_file: Path, services) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from crawler.custodians import CustodianRules
    from ui.commands.custodians import owner_lookup_for

    if not map_file.exists():
        raise BadInput(f"no such custodian map: {map_file}")
    try:
        rules = CustodianRules.from_options(custodian[0] if custodian else None, map_file, owner_lookup_for(services))
    except ValueError as error:
        raise BadInput(str(error)) from None
    return {"attribution": rules}


def _audit_view(services, item_id: str) -> None:  # type: ignore[no-untyped-def]
    from search_api.audit import record_item_view

    record_item_view(services.store, item_id)


class _progress_bar:
    """A progress line on stderr (stdout stays clean for pipes)."""

    def __init__(self) -> None:
        self.bar = tqdm(unit=" files", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False)

    def __call__(self, report: RunReport) -> None:
        self.bar.n = report.collected
        self.bar.set_postfix(items=report.items_added, problems=report.problems, refresh=False)
        self.bar.refresh()


def _print_item(view) -> None:  # type: ignore[no-untyped-def]
    print(f"{view.title}  [{view.kind}]  id={view.id}")
    print(f"  custodians: {', '.join(view.custodians) or '-'}   date: {view.date or '-'} ({view.date_source or 'none'})")
    print(f"  source: {view.source}")
    if view.status != "ok":
        print(f"  status: {view.status}: {view.error}")
    for key, people in view.participants.items():
        if people:
            print(f"  {key}: " + "; ".join(p['name'] or p['address'] for p in people))
    if view.family:
        print(f"  family: {len(view.family)} other item(s)")
    print()
    print(view.text[:5000])
