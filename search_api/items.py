"""Reading items for people: one item with its family, thread and duplicates; the exceptions report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from disclose.items import Item
from disclose.store.records import family_of, list_exceptions, load_item
from disclose.store.tables import CustodyEvent, ItemRow
from indexer.services import Services


class ItemSummary(BaseModel):
    id: str
    kind: str
    title: str
    date: datetime | None
    parent_id: str | None
    custodians: list[str]


class ItemView(BaseModel):
    id: str
    kind: str
    family_id: str
    parent_id: str | None
    root_id: str | None
    title: str
    filename: str
    mime_type: str
    size: int
    source: str
    custodians: list[str]
    date: datetime | None
    date_offset_minutes: int | None
    date_source: str
    participants: dict[str, list[dict[str, str]]]
    text: str
    text_version: str
    sha256: str
    content_hash: str
    status: str
    error: str
    duplicate_of: str | None
    metadata: dict[str, Any]
    family: list[ItemSummary]
    duplicates: list[ItemSummary]
    custody: list[dict[str, Any]]


class ExceptionView(BaseModel):
    path: str
    stage: str
    reason: str
    item_id: str | None
    at: datetime | None


def summary(item: Item) -> ItemSummary:
    return ItemSummary(id=item.id, kind=item.kind.value, title=item.title, date=item.date, parent_id=item.parent_id,
                       custodians=item.custodians)


def item_view(services: Services, item_id: str) -> ItemView | None:
    with services.store.session() as session:
        item = load_item(session, item_id)
        if item is None:
            return None
        family = family_of(session, item.family_id)
        primary = item.duplicate_of or item.id
        duplicate_rows = session.scalars(
            select(ItemRow).where((ItemRow.duplicate_of == primary) | (ItemRow.id == primary)).limit(200)
        ).all()
        custody = session.scalars(select(CustodyEvent).where(CustodyEvent.item_id == (item.root_id or item.id))).all()
        duplicates = [ItemSummary(id=r.id, kind=r.kind, title=r.title, date=r.date, parent_id=r.parent_id, custodians=r.custodians)
                      for r in duplicate_rows if r.id != item.id]
        return ItemView(
            id=item.id,
            kind=item.kind.value,
            family_id=item.family_id,
            parent_id=item.parent_id,
            root_id=item.root_id,
            title=item.title,
            filename=item.filename,
            mime_type=item.mime_type,
            size=item.size,
            source=item.source,
            custodians=item.custodians,
            date=item.date,
            date_offset_minutes=item.date_offset_minutes,
            date_source=item.date_source,
            participants=item.participants.to_dict(),
            text=item.text,
            text_version=item.text_version,
            sha256=item.sha256,
            content_hash=item.content_hash,
            status=item.status.value,
            error=item.error,
            duplicate_of=item.duplicate_of,
            metadata=item.metadata,
            family=[summary(member) for member in family if member.id != item.id][:500],
            duplicates=duplicates,
            custody=[
                {"sha256": c.sha256, "source": c.source, "custodian": c.custodian, "collector": c.collector,
                 "action": c.action, "at": c.at.isoformat(), "detail": c.detail}
                for c in custody
            ],
        )


def exceptions_report(services: Services) -> list[ExceptionView]:
    with services.store.session() as session:
        return [ExceptionView(path=e.path, stage=e.stage, reason=e.reason, item_id=e.item_id, at=e.at) for e in list_exceptions(session)]
