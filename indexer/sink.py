"""Where emitted items go: batched into the case store, de-duplicated, and handed to the index."""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.items import Item, Kind
from disclose.memory import return_freed_memory
from disclose.store import CaseStore
from disclose.store.records import ExceptionEntry, record_exception, save_items
from disclose.store.tables import ItemRow
from indexer.index.base import SearchIndex

BATCH = 2000
DEDUPED_KINDS = {Kind.EMAIL, Kind.CHAT_MESSAGE}

# One writer at a time: SQLite allows no more, and it keeps duplicate detection race-free in-process.
WRITE_LOCK = threading.Lock()
COLLECT_EVERY = 10_000  # items saved between full garbage collections (one takes ~20 ms during an import)
_saved_since_collection = 0
_collection_lock = threading.Lock()


def _collect_now_and_then(saved: int) -> None:
    global _saved_since_collection
    with _collection_lock:
        _saved_since_collection += saved
        due = _saved_since_collection >= COLLECT_EVERY
        if due:
            _saved_since_collection = 0
    if due:
        gc.collect()


def takes_part_in_dedup(item: Item) -> bool:
    """Top-level originals, emails and chat messages are de-duplicated; attachments follow their parent."""
    return bool(item.content_hash) and (item.parent_id is None or item.kind in DEDUPED_KINDS)


@dataclass
class SinkTotals:
    added: int = 0
    new_ids: list[str] = field(default_factory=list)  # kept only when the caller does the indexing
    reindex_ids: set[str] = field(default_factory=set)  # existing items whose index entry must be refreshed
    duplicate_ids: list[str] = field(default_factory=list)
    problems: int = 0


class Sink:
    def __init__(self, store: CaseStore, index: SearchIndex | None, run_id: str | None = None) -> None:
        self.store = store
        self.index = index  # None: leave indexing to whoever collects `totals` (a Celery caller)
        self.run_id = run_id
        self.totals = SinkTotals()
        self._items: list[Item] = []
        self._problems: list[ExceptionEntry] = []
        self._writes: list[Callable[[Session], None]] = []
        self._lock = threading.Lock()

    def also(self, write: Callable[[Session], None]) -> None:
        """Run `write` in the next flush's transaction, before the items are saved: the pipeline's
        per-original records (custody, source entry) then cost no transaction of their own."""
        with self._lock:
            self._writes.append(write)

    def add(self, item: Item) -> None:
        with self._lock:
            self._items.append(item)
            full = len(self._items) >= BATCH
        if full:
            self.flush()

    def problem(self, entry: ExceptionEntry) -> None:
        with self._lock:
            self._problems.append(entry)
            self.totals.problems += 1

    def flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            problems, self._problems = self._problems, []
            writes, self._writes = self._writes, []
        if not items and not problems and not writes:
            return
        with WRITE_LOCK:
            with self.store.session() as session:
                for write in writes:
                    write(session)
                self._mark_duplicates(session, items)
                outcome = save_items(session, items)
                for entry in problems:
                    record_exception(session, entry, self.run_id)
            fresh = set(outcome.new_ids)
            self.totals.added += len(outcome.new_ids)
            if self.index is None:
                self.totals.new_ids.extend(outcome.new_ids)
            self.totals.reindex_ids.update(outcome.merged_ids)
            if self.index is not None:
                self.index.add_new([item for item in items if item.id in fresh])
        # The batch's items, rows and documents are freed by now. What it left in reference cycles
        # (SQLAlchemy's statements and bound parameters refer to themselves) waits for the cyclic
        # collector, which an import runs rarely (see pipeline._fewer_collections): without a full
        # collection every COLLECT_EVERY items such garbage piled up for the whole import, some 200
        # bytes a chat message. Then give the heap back, or the arenas of the threads that made it keep
        # every batch's fragments.
        _collect_now_and_then(len(items))
        return_freed_memory()

    def _mark_duplicates(self, session, items: Sequence[Item]) -> None:  # type: ignore[no-untyped-def]
        """The first copy stays primary and collects every custodian and location that holds it."""
        candidates = [item for item in items if takes_part_in_dedup(item) and item.duplicate_of is None]
        if not candidates:
            return
        primaries = _primaries(session, {item.content_hash for item in candidates})
        batch_primary: dict[str, Item] = {}
        for item in candidates:
            row = primaries.get(item.content_hash)
            if row is not None and row.id != item.id:
                item.duplicate_of = row.id
                known = list(row.custodians or [])
                row.custodians = known + [c for c in item.custodians if c not in known]
                meta = dict(row.meta or {})
                locations = list(meta.get("duplicate_locations", []))
                location = {"id": item.id, "source": item.source, "custodians": item.custodians}
                if location not in locations:
                    locations.append(location)
                meta["duplicate_locations"] = locations
                row.meta = meta
                self.totals.reindex_ids.add(row.id)
                self.totals.duplicate_ids.append(item.id)
                continue
            first = batch_primary.get(item.content_hash)
            if first is not None and first.id != item.id:
                item.duplicate_of = first.id
                first.custodians = first.custodians + [c for c in item.custodians if c not in first.custodians]
                first.metadata.setdefault("duplicate_locations", []).append(
                    {"id": item.id, "source": item.source, "custodians": item.custodians}
                )
                self.totals.duplicate_ids.append(item.id)
            else:
                batch_primary[item.content_hash] = item


def takes_part_in_dedup_row(row: ItemRow) -> bool:
    return row.parent_id is None or row.kind in {kind.value for kind in DEDUPED_KINDS}


def _primaries(session: Session, hashes: set[str]) -> dict[str, ItemRow]:
    """The first stored primary holding each content hash, loaded whole (it is updated).

    The lookup filters on content_hash alone: with `duplicate_of IS NULL` beside it SQLite chose the
    duplicate_of index, which every primary item matches, and read the whole table for each batch, so
    an import slowed down as the case grew. The few rows a hash matches are sorted out here."""
    columns = (ItemRow.id, ItemRow.content_hash, ItemRow.duplicate_of, ItemRow.parent_id, ItemRow.kind, ItemRow.created_at)
    matches = session.execute(select(*columns).where(ItemRow.content_hash.in_(hashes))).all()
    first: dict[str, str] = {}
    for row in sorted(matches, key=lambda r: r.created_at):
        if row.duplicate_of is None and takes_part_in_dedup_row(row):
            first.setdefault(row.content_hash, row.id)
    if not first:
        return {}
    loaded = {row.id: row for row in session.scalars(select(ItemRow).where(ItemRow.id.in_(list(first.values()))))}
    return {content_hash: loaded[item_id] for content_hash, item_id in first.items()}
