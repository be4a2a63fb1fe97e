"""`disclose custodians …`: see which collected files nobody could be attributed to, and assign them."""

from __future__ import annotations

from typing import Annotated, Any, Callable

import typer
from sqlalchemy import or_, select

from disclose.store.base import now
from disclose.store.records import record_custody
from disclose.store.tables import Identifier, ItemRow, Person
from indexer.pipeline import COLLECTOR, index_items
from indexer.services import Services, open_services
from ui.output import BadInput, JsonFlag, emit, guarded

custodians_app = typer.Typer(help="Who collected material belongs to.", no_args_is_help=True)

OWNER_KINDS = ("sid", "owner")


def owner_lookup_for(services: Services) -> Callable[[str], str | None]:
    """A file owner (a Windows SID or an account such as `FS\\jsmith`) -> the person the identity table links it to.

    The table is read once: a crawl asks for every file, and the table does not change during it.
    """
    with services.store.session() as session:
        rows = session.execute(
            select(Identifier.value, Person.display_name).join(Person, Person.id == Identifier.person_id).where(Identifier.kind.in_(OWNER_KINDS))
        ).all()
    known = {value.strip().casefold(): name for value, name in rows}

    def lookup(owner: str) -> str | None:
        return known.get(owner.strip().casefold())

    return lookup


def _unassigned(services: Services) -> list[dict[str, Any]]:
    with services.store.session() as session:
        rows = session.execute(
            select(ItemRow.id, ItemRow.custodians, ItemRow.source, ItemRow.filename, ItemRow.meta, ItemRow.kind)
            .where(ItemRow.parent_id.is_(None))
            .order_by(ItemRow.source)
        ).all()
    found = []
    for item_id, custodians, source, filename, meta, kind in rows:
        if custodians:
            continue
        meta = meta or {}
        found.append(
            {
                "id": item_id,
                "kind": kind,
                "filename": filename,
                "source": source,
                "display_path": meta.get("display_path", ""),
                "owner": meta.get("owner_sid", ""),
                "custodian_rule": meta.get("custodian_rule", ""),
                "present": meta.get("present", True),
            }
        )
    return found


def _assign(services: Services, item_ids: list[str], custodian: str) -> dict[str, Any]:
    with services.store.session() as session:
        roots = {row.id: row for row in session.scalars(select(ItemRow).where(ItemRow.id.in_(item_ids)))}
        missing = [item_id for item_id in item_ids if item_id not in roots]
        if missing:
            raise BadInput(f"no such item: {', '.join(missing)}")
        # The whole family follows its original: attachments and archive members belong to the same person.
        family = session.scalars(select(ItemRow).where(or_(ItemRow.id.in_(item_ids), ItemRow.root_id.in_(item_ids)))).all()
        changed = []
        for row in family:
            if custodian not in (row.custodians or []):
                row.custodians = [*(row.custodians or []), custodian]
                changed.append(row.id)
        for root in roots.values():
            root.meta = {**(root.meta or {}), "custodian_rule": "assigned", "custodian_assigned_at": now().isoformat()}
            record_custody(
                session, item_id=root.id, sha256=root.sha256, source=root.source, custodian=custodian,
                collector=COLLECTOR, detail={"action": "custodian assigned"},
            )
        session.commit()
    index_items(services, sorted(set(changed) | set(item_ids)))
    services.index.commit()
    return {"custodian": custodian, "assigned": list(item_ids), "items_updated": len(changed)}


@custodians_app.command("unassigned")
def unassigned(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Collected originals no rule could attribute to anyone (assign them with `disclose custodians assign`)."""

    def work() -> dict[str, Any]:
        services = open_services(ctx.obj)
        try:
            items = _unassigned(services)
        finally:
            services.close()
        return {"count": len(items), "items": items}

    result = guarded(as_json, work)

    def human(data: dict[str, Any]) -> None:
        for item in data["items"]:
            typer.echo(f"{item['id']}\t{item['display_path'] or item['source']}\t{item['owner']}")
        typer.echo(f"{data['count']} unassigned item(s)")

    emit(result, as_json, human)


@custodians_app.command("assign")
def assign(
    ctx: typer.Context,
    item_ids: Annotated[list[str], typer.Argument(help="Item ids (from `disclose custodians unassigned`).")],
    custodian: Annotated[str, typer.Option("--custodian", help="Whose material these are.")],
    as_json: JsonFlag = False,
) -> None:
    """Attribute items (with everything inside them) to a custodian; recorded in the chain of custody."""

    def work() -> dict[str, Any]:
        if not custodian.strip():
            raise BadInput("--custodian needs a name")
        services = open_services(ctx.obj)
        try:
            return _assign(services, list(dict.fromkeys(item_ids)), custodian.strip())
        finally:
            services.close()

    result = guarded(as_json, work)
    emit(result, as_json, lambda r: typer.echo(f"Assigned {len(r['assigned'])} item(s) to {r['custodian']}."))


def register(app: typer.Typer) -> None:
    app.add_typer(custodians_app, name="custodians")
