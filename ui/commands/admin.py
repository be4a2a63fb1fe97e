"""`disclose status`, `reindex` and `verify-evidence`: looking after a workspace."""

from __future__ import annotations

from collections import Counter

import typer
from pydantic import BaseModel
from sqlalchemy import func, select

from disclose.store.tables import ExceptionRow, ItemRow
from indexer.services import open_services
from ui.output import JsonFlag, emit, guarded


class WorkspaceStatus(BaseModel):
    home: str
    database: str
    index: str
    items: int
    by_kind: dict[str, int]
    custodians: dict[str, int]
    duplicates: int
    exceptions: int
    indexed: int


class EvidenceCheck(BaseModel):
    checked: int
    damaged: list[str]


def register(app: typer.Typer) -> None:
    @app.command()
    def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """What the workspace holds: items by kind and custodian, duplicates, exceptions."""

        def work() -> WorkspaceStatus:
            services = open_services(ctx.obj)
            with services.store.session() as session:
                kinds = dict(session.execute(select(ItemRow.kind, func.count()).group_by(ItemRow.kind)).all())
                custodians: Counter[str] = Counter()
                for (names,) in session.execute(select(ItemRow.custodians).where(ItemRow.parent_id.is_(None))):
                    custodians.update(names or [])
                duplicates = session.scalar(select(func.count()).where(ItemRow.duplicate_of.is_not(None))) or 0
                problems = session.scalar(select(func.count()).select_from(ExceptionRow)) or 0
            workspace = services.workspace
            return WorkspaceStatus(
                home=str(workspace.home),
                database=workspace.database_url.split("@")[-1],  # never print a password
                index=workspace.index_url.split("@")[-1],
                items=sum(kinds.values()),
                by_kind=kinds,
                custodians=dict(custodians),
                duplicates=duplicates,
                exceptions=problems,
                indexed=services.index.count(),
            )

        result = guarded(as_json, work)
        emit(result, as_json, lambda s: print(
            f"{s.items} items ({', '.join(f'{v} {k}' for k, v in s.by_kind.items()) or 'none'}); "
            f"{s.duplicates} duplicates; {s.exceptions} exceptions; {s.indexed} indexed\n"
            f"custodians: {', '.join(f'{k} ({v})' for k, v in s.custodians.items()) or 'none'}"))

    @app.command()
    def reindex(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """Rebuild the search index from the case store (after an upgrade, or to move to a new backend)."""

        def work() -> dict[str, int]:
            return {"reindexed": open_services(ctx.obj).reindex()}

        emit(guarded(as_json, work), as_json, lambda r: print(f"Reindexed {r['reindexed']} items."))

    @app.command("verify-evidence")
    def verify_evidence(ctx: typer.Context, as_json: JsonFlag = False) -> None:
        """Re-hash every original in the evidence store; any that changed on disk are named."""

        def work() -> EvidenceCheck:
            evidence = open_services(ctx.obj).evidence
            hashes = list(evidence.all_hashes())
            return EvidenceCheck(checked=len(hashes), damaged=[sha for sha in hashes if not evidence.verify(sha)])

        result = guarded(as_json, work)
        emit(result, as_json, lambda r: print(f"Checked {r.checked} originals; {len(r.damaged)} damaged." +
                                              "".join(f"\n  {sha}" for sha in r.damaged)))
        if result.damaged:
            raise typer.Exit(1)
