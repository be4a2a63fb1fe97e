"""Reading and writing items, custody events and exceptions as model objects, not rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

from sqlalchemy import Column, Table, select
from sqlalchemy.orm import Session

from disclose.items import Item, Kind, Participants, Status
from disclose.store.base import now
from disclose.store.tables import CustodyEvent, ExceptionRow, ItemRow


def item_from_row(row: ItemRow) -> Item:
    return Item(
        id=row.id,
        kind=Kind(row.kind),
        family_id=row.family_id,
        parent_id=row.parent_id,
        root_id=row.root_id,
        source=row.source,
        locator=row.locator,
        custodians=list(row.custodians or []),
        title=row.title,
        filename=row.filename,
        mime_type=row.mime_type,
        size=row.size,
        date=row.date,
        date_offset_minutes=row.date_offset_minutes,
        date_source=row.date_source,
        participants=Participants.from_dict(row.participants),
        text=row.text,
        sha256=row.sha256,
        content_hash=row.content_hash,
        status=Status(row.status),
        error=row.error,
        duplicate_of=row.duplicate_of,
        metadata=dict(row.meta or {}),
    )


def _fill_row(row: ItemRow, item: Item) -> None:
    row.kind = item.kind.value
    row.family_id = item.family_id
    row.parent_id = item.parent_id
    row.root_id = item.root_id
    row.source = item.source
    row.locator = item.locator
    row.title = item.title
    row.filename = item.filename
    row.mime_type = item.mime_type
    row.size = item.size
    row.date = item.date
    row.date_offset_minutes = item.date_offset_minutes
    row.date_source = item.date_source
    row.participants = item.participants.to_dict()
    row.sha256 = item.sha256
    row.content_hash = item.content_hash
    row.status = item.status.value
    row.error = item.error
    row.duplicate_of = item.duplicate_of
    row.meta = item.metadata


def save_item(session: Session, item: Item) -> bool:
    """Insert or merge an item; returns True when it is new.

    The text is written once: a later save of the same id keeps the first text so that
    redaction markers (offsets into it) stay valid. Custodians accumulate.
    """
    row = session.get(ItemRow, item.id)
    if row is None:
        row = ItemRow(id=item.id, text=item.text, text_version=item.text_version, custodians=list(item.custodians))
        _fill_row(row, item)
        session.add(row)
        return True
    known = list(row.custodians or [])
    row.custodians = known + [c for c in item.custodians if c not in known]
    if not row.text and item.text:
        row.text = item.text
        row.text_version = item.text_version
    return False


def load_item(session: Session, item_id: str) -> Item | None:
    row = session.get(ItemRow, item_id)
    return item_from_row(row) if row else None


def load_items(session: Session, ids: Sequence[str]) -> list[Item]:
    if not ids:
        return []
    rows = session.scalars(select(ItemRow).where(ItemRow.id.in_(list(ids)))).all()
    by_id = {row.id: item_from_row(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def family_of(session: Session, family_id: str) -> list[Item]:
    rows = session.scalars(select(ItemRow).where(ItemRow.family_id == family_id).order_by(ItemRow.created_at, ItemRow.id)).all()
    return [item_from_row(row) for row in rows]


def children_of(session: Session, parent_id: str) -> list[Item]:
    rows = session.scalars(select(ItemRow).where(ItemRow.parent_id == parent_id).order_by(ItemRow.created_at, ItemRow.id)).all()
    return [item_from_row(row) for row in rows]


def record_custody(
    session: Session, *, item_id: str, sha256: str, source: str, custodian: str, collector: str, detail: dict | None = None
) -> None:
    session.add(
        CustodyEvent(item_id=item_id, sha256=sha256, source=source, custodian=custodian, collector=collector, detail=detail or {})
    )


@dataclass(frozen=True)
class ExceptionEntry:
    path: str
    stage: str
    reason: str
    item_id: str | None = None
    at: datetime | None = None


def record_exception(session: Session, entry: ExceptionEntry, run_id: str | None = None) -> None:
    """One entry per (item, path, stage, reason): a re-run does not pile up copies."""
    exists = session.scalar(
        select(ExceptionRow.id).where(
            ExceptionRow.item_id == entry.item_id,
            ExceptionRow.path == entry.path,
            ExceptionRow.stage == entry.stage,
            ExceptionRow.reason == entry.reason,
        )
    )
    if exists is None:
        session.add(
            ExceptionRow(item_id=entry.item_id, path=entry.path, stage=entry.stage, reason=entry.reason, run_id=run_id, at=now())
        )


def list_exceptions(session: Session) -> list[ExceptionEntry]:
    rows = session.scalars(select(ExceptionRow).order_by(ExceptionRow.id)).all()
    return [ExceptionEntry(path=r.path, stage=r.stage, reason=r.reason, item_id=r.item_id, at=r.at) for r in rows]


def iter_items(session: Session, batch: int = 1000) -> Iterable[Item]:
    last = ""
    while True:
        rows = session.scalars(select(ItemRow).where(ItemRow.id > last).order_by(ItemRow.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield item_from_row(row)
        last = rows[-1].id


@dataclass(frozen=True)
class SaveOutcome:
    new_ids: list[str]
    merged_ids: list[str]  # existing items that gained a custodian or text


def _row_values(item: Item) -> dict[str, object]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "family_id": item.family_id,
        "parent_id": item.parent_id,
        "root_id": item.root_id,
        "source": item.source,
        "locator": item.locator,
        "custodians": list(item.custodians),
        "title": item.title,
        "filename": item.filename,
        "mime_type": item.mime_type,
        "size": item.size,
        "date": item.date,
        "date_offset_minutes": item.date_offset_minutes,
        "date_source": item.date_source,
        "participants": item.participants.to_dict(),
        "text": item.text,
        "text_version": item.text_version,
        "sha256": item.sha256,
        "content_hash": item.content_hash,
        "status": item.status.value,
        "error": item.error,
        "duplicate_of": item.duplicate_of,
        "meta": item.metadata,
    }


def save_items(session: Session, items: Sequence[Item]) -> SaveOutcome:
    """Save many items with one lookup and one bulk insert: the fast form of `save_item`."""
    ids = list(dict.fromkeys(item.id for item in items))
    existing: dict[str, ItemRow] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        existing.update({row.id: row for row in session.scalars(select(ItemRow).where(ItemRow.id.in_(chunk)))})
    fresh: dict[str, Item] = {}
    merged: list[str] = []
    for item in items:
        row = existing.get(item.id)
        if row is None:
            fresh.setdefault(item.id, item)
            continue
        known = list(row.custodians or [])
        extra = [c for c in item.custodians if c not in known]
        if extra:
            row.custodians = known + extra
            merged.append(item.id)
    if fresh:
        insert_rows(session, ItemRow.__table__, [_row_values(item) for item in fresh.values()])
    return SaveOutcome(new_ids=list(fresh), merged_ids=merged)


def insert_rows(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
    """Insert many rows in one DBAPI executemany.

    On a positional driver (SQLite) the values go through the columns' own SQLAlchemy bind
    processors, so what is stored is byte-for-byte what a Core insert stores, without Core's
    per-row parameter bookkeeping (a third of the time of a million-message import). Other drivers
    take the Core executemany.
    """
    connection = session.connection()
    dialect = connection.dialect
    if not dialect.positional:
        connection.execute(table.insert(), rows)
        return
    columns = list(table.columns)
    names = [column.name for column in columns]
    defaults = [_python_default(column) for column in columns]
    processed = [(i, p) for i, p in enumerate(column.type._cached_bind_processor(dialect) for column in columns) if p is not None]
    tuples = []
    for row in rows:
        values = [row[name] if name in row else (default() if default else None) for name, default in zip(names, defaults)]
        for position, process in processed:
            if values[position] is not None:
                values[position] = process(values[position])
        tuples.append(tuple(values))
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    connection.exec_driver_sql(statement, tuples)


def _python_default(column: Column) -> Callable[[], object] | None:
    default = column.default
    if default is None:
        return None
    if default.is_callable:
        function = default.arg
        return lambda: function(None)
    if default.is_scalar:
        value = default.arg
        return lambda: value
    return None
