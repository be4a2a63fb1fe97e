"""Items for the request/review/redaction tests, saved in the case store and indexed like the pipeline does."""

from __future__ import annotations

from datetime import datetime, timezone

from disclose.items import Item, Kind, Participants, Person, stable_id
from disclose.store.casework import ReviewItem
from disclose.store.records import save_item
from indexer.services import Services
from search_api.requests import request_row


def make_item(key: str, text: str, *, kind: Kind = Kind.FILE, custodian: str = "alice", parent: Item | None = None,
              title: str = "", date: datetime | None = None, metadata: dict | None = None, duplicate_of: str | None = None,
              source: str = "file:///share/") -> Item:
    item_id = stable_id("test", key)
    item = Item(
        id=item_id,
        kind=kind,
        family_id=parent.family_id if parent else item_id,
        parent_id=parent.id if parent else None,
        root_id=(parent.root_id or parent.id) if parent else None,
        source=source + key,
        custodians=[custodian],
        title=title or key,
        filename=key,
        text=text,
        content_hash=stable_id("content", text),
        duplicate_of=duplicate_of,
        metadata=dict(metadata or {}),
        participants=Participants(sender=[Person(name=custodian)]),
    )
    item.set_date(date or datetime(2025, 3, 1, 12, tzinfo=timezone.utc), "test")
    return item


def store_items(services: Services, items: list[Item]) -> None:
    with services.store.session() as session:
        for item in items:
            save_item(session, item)
    services.index.upsert(items)
    services.index.commit()


def put_in_review_set(services: Services, ref: str, items: list[Item]) -> None:
    """For tests of what happens after items are in a review set (the search path is tested in test_review)."""
    with services.store.session() as session:
        row = request_row(session, ref)
        for item in items:
            session.add(ReviewItem(request_id=row.id, item_id=item.id, reason="hit", query="test", decision="", exemptions=[]))
