"""From a request's review set, decisions and accepted markers to the ordered list of schedule entries.

The tables are read directly so that bundles do not depend on the review services' code. An item
in the review set with no decision yet is released (in part, when it carries accepted markers) and
shown as "not yet reviewed".

A plan stays small whatever the size of the bundle: it holds ids, titles, dates and a tally of
markers per document, never item text, metadata or the markers themselves, and its documents are
kept in a temporary file as they are planned, read back in order (`Spilled`). Planning reads items a
batch at a time without their text; markers are read an item at a time, in item order, and the text
of marked items a batch at a time, to check each marker against it and to collect the distinct
strings the markers cover (for masking and the leak check). The process that renders a document
reads its items and markers again (`load_document`).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator, Sequence

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from disclose.items import Kind, text_version
from disclose.store import CaseStore, open_store
from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
from disclose.store.records import load_items
from disclose.store.tables import ItemRow
from search_api.bundle.model import (
    DECISIONS,
    NOT_RELEASED,
    BundleError,
    LoadedDocument,
    Marker,
    MarkerTally,
    PlannedDocument,
    SourceItem,
    Spilled,
    markers_digest,
)

BATCH = 500  # ids per IN (...) query
TEXT_BATCH = 50  # items whose text is read at once while planning (about 1 MB for long documents)
PAGE_CACHE_KIB = 2048  # SQLite page cache of a bundle's own connections (SQLite's default size)


@dataclass(frozen=True)
class Decision:
    decision: str
    reviewed: bool
    exemptions: list[str]


@dataclass
class Plan:
    ref: str
    request_id: int  # whose accepted markers the render workers read
    request_type: str
    documents: Spilled[PlannedDocument]  # in a file, not in memory: read them in order
    redactions: list[tuple[str, str]]  # each distinct (covered string, exemption code), for masking

    @property
    def redacted_strings(self) -> list[str]:
        """Every distinct string a marker covers: what the leak check looks for."""
        return list(dict.fromkeys(covered for covered, _ in self.redactions))


@dataclass(frozen=True, slots=True)
class _Brief:
    """What planning needs of an item: never its text or metadata."""

    id: str
    kind: Kind
    family_id: str
    parent_id: str | None
    locator: str
    custodians: tuple[str, ...]
    title: str
    filename: str
    mime_type: str
    date: datetime | None
    date_offset_minutes: int | None
    sha256: str
    conversation_id: str | None = None  # chat messages only
    position: int = 0

    def source(self) -> SourceItem:
        return SourceItem(self.id, self.kind.value, self.sha256, self.family_id, self.parent_id)


_BRIEF_COLUMNS = (
    ItemRow.id, ItemRow.kind, ItemRow.family_id, ItemRow.parent_id, ItemRow.locator, ItemRow.custodians, ItemRow.title,
    ItemRow.filename, ItemRow.mime_type, ItemRow.date, ItemRow.date_offset_minutes, ItemRow.sha256,
)


@contextmanager
def bundle_store(url: str) -> Iterator[CaseStore]:
    """The case store opened for a bundle's reads, with an engine of its own.

    A bundle reads every document's text once. Through the caller's connections (whose SQLite page
    cache is sized for ingest) those pages would stay cached, and memory would grow with the size
    of the bundle; these connections keep SQLite's default, small cache.
    """
    store = open_store(url, upgrade=False)  # whoever handed us the URL has already migrated the schema
    if store.engine.dialect.name == "sqlite":
        event.listen(store.engine, "connect", _small_page_cache)
    try:
        yield store
    finally:
        store.engine.dispose()


def _small_page_cache(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    cursor.close()


def _chunks(ids: Sequence[str], size: int = BATCH) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _briefs(session: Session, ids: Sequence[str]) -> dict[str, _Brief]:
    found: dict[str, _Brief] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        rows = session.execute(select(*_BRIEF_COLUMNS).where(ItemRow.id.in_(chunk))).all()
        chats: dict[str, tuple] = {}
        for row in rows:
            if row.kind == Kind.CHAT_MESSAGE.value:
                chats[row.id] = row
            else:
                found[row.id] = _brief(row)
        if chats:  # a chat message's metadata is small; an image's (OCR word boxes) is not, so only these are read
            for item_id, meta in session.execute(select(ItemRow.id, ItemRow.meta).where(ItemRow.id.in_(list(chats)))).all():
                meta = meta or {}
                found[item_id] = _brief(chats[item_id], meta.get("conversation_id"), meta.get("position", 0))
    return found


def _brief(row, conversation_id: str | None = None, position: object = 0) -> _Brief:  # type: ignore[no-untyped-def]
    return _Brief(
        id=row.id, kind=Kind(row.kind), family_id=row.family_id, parent_id=row.parent_id, locator=row.locator or "",
        custodians=tuple(row.custodians or ()), title=row.title or "", filename=row.filename or "", mime_type=row.mime_type or "",
        date=row.date, date_offset_minutes=row.date_offset_minutes, sha256=row.sha256 or "",
        conversation_id=conversation_id, position=position if isinstance(position, int) else 0,
    )


def plan_bundle(session: Session, ref: str) -> Plan:
    request = session.scalar(select(RequestRow).where(RequestRow.ref == ref))
    if request is None:
        raise BundleError(f"no request with reference {ref!r}")
    if session.scalar(select(ReviewItem.id).where(ReviewItem.request_id == request.id).limit(1)) is None:
        raise BundleError(f"request {ref} has nothing in its review set: add items first")
    markers, redactions = _markers(session, request.id)
    reviews = (
        select(ReviewItem.item_id, ReviewItem.decision, ReviewItem.exemptions).where(ReviewItem.request_id == request.id).order_by(ReviewItem.id)
    )
    # Rows are turned into decisions as they come, and equal decisions share one object: most of
    # a large review set repeats a handful of (decision, exemptions) pairs.
    decisions: dict[str, Decision] = {}
    shared: dict[tuple[str, bool, tuple[str, ...]], Decision] = {}
    for row in session.execute(reviews).yield_per(2000):
        decision = _decision(row.decision, row.exemptions, row.item_id in markers)
        decisions[row.item_id] = shared.setdefault((decision.decision, decision.reviewed, tuple(decision.exemptions)), decision)
    items = _briefs(session, list(decisions))
    decisions = {item_id: decision for item_id, decision in decisions.items() if item_id in items}
    documents = _Planner(session, items, decisions, markers).documents()
    return Plan(ref=ref, request_id=request.id, request_type=request.type, documents=documents, redactions=redactions)


_MARKER_COLUMNS = (MarkerRow.id, MarkerRow.item_id, MarkerRow.start, MarkerRow.end, MarkerRow.code)


def _markers(session: Session, request_id: int) -> tuple[dict[str, MarkerTally], list[tuple[str, str]]]:
    """A tally of each marked item's accepted markers, each marker checked against its item's text, and
    the distinct (string, code) pairs they cover.

    Markers come in item order, so only the markers of the TEXT_BATCH items being checked are held
    at once, whatever the number of markers in the request."""
    query = (
        select(*_MARKER_COLUMNS, MarkerRow.text_version).where(*_accepted(request_id)).order_by(MarkerRow.item_id, MarkerRow.id)
    )
    tallies: dict[str, MarkerTally] = {}
    pairs: dict[tuple[str, str], None] = {}
    batch: dict[str, list[tuple[int, Marker, str]]] = {}
    for row in session.execute(query).yield_per(2000):
        if row.item_id not in batch and len(batch) >= TEXT_BATCH:
            _check_markers(session, batch, tallies, pairs)
            batch = {}
        marker = Marker(row.item_id, row.start, row.end, sys.intern(row.code))  # one copy of each code in the tallies
        batch.setdefault(row.item_id, []).append((row.id, marker, row.text_version))
    if batch:
        _check_markers(session, batch, tallies, pairs)
    return tallies, list(pairs)


def _accepted(request_id: int) -> tuple:
    return (MarkerRow.request_id == request_id, MarkerRow.status == "accepted")


def _check_markers(
    session: Session, batch: dict[str, list[tuple[int, Marker, str]]], tallies: dict[str, MarkerTally], pairs: dict[tuple[str, str], None]
) -> None:
    for item_id, text in session.execute(select(ItemRow.id, ItemRow.text).where(ItemRow.id.in_(list(batch)))).all():
        text = text or ""
        version = text_version(text)
        counts: dict[str, int] = {}
        for marker_id, marker, made_on in batch[item_id]:
            if made_on and made_on != version:
                raise BundleError(f"marker {marker_id} on item {item_id} was made on a different version of its text")
            if not (0 <= marker.start < marker.end <= len(text)):
                raise BundleError(f"marker {marker_id} on item {item_id} lies outside its text ({marker.start}-{marker.end})")
            pairs.setdefault((text[marker.start:marker.end], marker.code), None)
            counts[marker.code] = counts.get(marker.code, 0) + 1
        tallies[item_id] = MarkerTally(counts, markers_digest(marker for _, marker, _ in batch[item_id]))


def load_document(session: Session, planned: PlannedDocument, request_id: int) -> LoadedDocument:
    """The planned document's items read back from the case store (text, participants, metadata), with
    the accepted markers of its marked items; BundleError if either changed since it was planned."""
    items = load_items(session, planned.item_ids)
    if len(items) != len(planned.sources):
        missing = sorted(set(planned.item_ids) - {item.id for item in items})
        raise BundleError(f"document {planned.number}: items no longer in the case store: {', '.join(missing)}")
    markers: dict[str, list[Marker]] = {}
    if planned.marked_ids:
        query = (
            select(*_MARKER_COLUMNS).where(*_accepted(request_id), MarkerRow.item_id.in_(planned.marked_ids))
            .order_by(MarkerRow.item_id, MarkerRow.id)
        )
        for row in session.execute(query).all():
            markers.setdefault(row.item_id, []).append(Marker(row.item_id, row.start, row.end, row.code))
    if "".join(markers_digest(markers.get(i, [])) for i in planned.marked_ids) != planned.markers_digest:
        raise BundleError(f"document {planned.number}: its redaction markers changed while the bundle was being built; build it again")
    return LoadedDocument(planned, items, markers)


def _decision(decision: str | None, exemptions: list[str] | None, marked: bool) -> Decision:
    codes = list(exemptions or [])
    if decision in DECISIONS:
        if decision == "release" and marked:
            decision = "release_in_part"  # a marker accepted after the decision still redacts
        return Decision(decision, True, codes)
    return Decision("release_in_part" if marked else "release", False, codes)


def local_day(item: _Brief) -> str:
    if item.date is None:
        return "undated"
    offset = timedelta(minutes=item.date_offset_minutes or 0)
    return (item.date + offset).date().isoformat()


def _sort_key(item: _Brief) -> tuple[int, datetime, str]:
    return (item.date is None, item.date or datetime.max.replace(tzinfo=timezone.utc), item.title or item.filename or item.id)


class _Planner:
    def __init__(self, session: Session, items: dict[str, _Brief], decisions: dict[str, Decision], markers: dict[str, MarkerTally]):
        self.session = session
        self.items = items
        self.decisions = decisions
        self.markers = markers
        self.out: Spilled[PlannedDocument] = Spilled()
        self._parents: dict[str, str | None] = {}  # parent ids of items outside the review set, read once each
        self._shared: dict[object, object] = {}  # one copy of each exemptions list and code tally, however many documents repeat it
        self._kids: dict[str, list[_Brief]] = {}

    def documents(self) -> Spilled[PlannedDocument]:
        chats: dict[str, list[_Brief]] = {}
        conversations: dict[str, _Brief] = {}
        tops: list[_Brief] = []
        for item in self.items.values():
            if item.kind is Kind.CHAT_MESSAGE:
                chats.setdefault(item.conversation_id or item.parent_id or item.id, []).append(item)
            elif item.kind is Kind.CHAT_CONVERSATION:
                conversations[item.id] = item
                chats.setdefault(item.id, [])
            else:
                holder = self._holder(item)
                if holder is None:
                    tops.append(item)
                else:
                    self._kids.setdefault(holder, []).append(item)
        for kids in self._kids.values():
            kids.sort(key=lambda i: (i.locator, i.id))
        missing = [c for c in chats if c not in conversations]
        conversations.update(_briefs(self.session, missing))
        units: list[tuple[tuple, str, object]] = []
        for item in tops:
            units.append((_sort_key(item), "item", item))
        for conversation_id, messages in chats.items():
            conversation = conversations.get(conversation_id)
            if not messages:
                messages = self._messages_of(conversation_id)
            key_item = conversation or (messages[0] if messages else None)
            if key_item is None:
                continue
            units.append((_sort_key(min(messages, key=_sort_key) if messages else key_item), "chat", (conversation, messages)))
        units.sort(key=lambda unit: unit[0])
        for _, kind, payload in units:
            if kind == "item":
                self._family(payload)  # type: ignore[arg-type]
            else:
                conversation, messages = payload  # type: ignore[misc]
                self._chat(conversation, messages)
        return self.out

    def _messages_of(self, conversation_id: str) -> list[_Brief]:
        """A conversation put in the review set on its own brings every message it holds."""
        ids = self.session.scalars(
            select(ItemRow.id).where(ItemRow.parent_id == conversation_id, ItemRow.kind == Kind.CHAT_MESSAGE.value)
            .order_by(ItemRow.created_at, ItemRow.id)
        ).all()
        briefs = _briefs(self.session, ids)
        return [briefs[i] for i in ids if i in briefs]

    def _holder(self, item: _Brief) -> str | None:
        """The nearest ancestor that is itself in the review set: the document this one follows."""
        parent, hops = item.parent_id, 0
        while parent and hops < 64:
            if parent in self.items:
                return parent
            if parent not in self._parents:
                self._parents[parent] = self.session.scalar(select(ItemRow.parent_id).where(ItemRow.id == parent))
            parent = self._parents[parent]
            hops += 1
        return None

    def _children(self, item: _Brief) -> list[_Brief]:
        return self._kids.get(item.id, [])

    def _family(self, item: _Brief) -> None:
        self._single(item)
        for child in self._children(item):
            self._family(child)

    def _single(self, item: _Brief) -> None:
        decision = self._decision(item)
        tally = self.markers.get(item.id)
        kind = "image" if item.kind is Kind.IMAGE or item.mime_type.startswith("image/") else item.kind.value
        self.out.append(
            PlannedDocument(
                number=len(self.out) + 1,
                kind=kind,
                title=item.title or item.filename or item.id,
                date=item.date,
                date_offset_minutes=item.date_offset_minutes,
                custodians=list(item.custodians),
                decision=decision.decision,
                reviewed=decision.reviewed,
                exemptions=self._one_copy(_codes(decision.exemptions, tally)),
                sources=[item.source()],
                **(self._marked([item.id], [tally]) if tally else {}),
            )
        )

    def _chat(self, conversation: _Brief | None, messages: list[_Brief]) -> None:
        days: dict[str, list[_Brief]] = {}
        for message in sorted(messages, key=lambda m: (_sort_key(m), m.position)):
            days.setdefault(local_day(message), []).append(message)
        title = (conversation.title if conversation else "") or "Chat"
        for day, day_messages in days.items():
            released = [m for m in day_messages if self._decision(m).decision not in NOT_RELEASED]
            released_ids = {m.id for m in released}
            withheld = {m.id for m in day_messages if m.id not in released_ids}
            exemptions: list[str] = []
            marked: list[str] = []
            for message in day_messages:
                exemptions = _codes(exemptions + self._decision(message).exemptions, self.markers.get(message.id))
                if message.id in self.markers and message.id not in withheld:
                    marked.append(message.id)
            reviewed = all(self._decision(m).reviewed for m in day_messages)
            if not released:
                decision = "withhold"
            elif withheld or marked:
                decision = "release_in_part"
            else:
                decision = "release"
            custodians = sorted({c for m in day_messages for c in m.custodians} | set(conversation.custodians if conversation else ()))
            items = ([conversation] if conversation else []) + day_messages
            self.out.append(
                PlannedDocument(
                    number=len(self.out) + 1,
                    kind="chat",
                    title=f"{title} ({day})",
                    date=day_messages[0].date,
                    date_offset_minutes=day_messages[0].date_offset_minutes,
                    custodians=custodians,
                    decision=decision,
                    reviewed=reviewed,
                    exemptions=self._one_copy(exemptions),
                    sources=[i.source() for i in items],
                    **self._marked(marked, [self.markers[i] for i in marked]),
                    withheld_ids=frozenset(withheld),
                    day=day,
                )
            )
            for message in released:
                for child in self._children(message):
                    self._family(child)

    def _one_copy(self, value: list[str] | dict[str, int]):  # type: ignore[no-untyped-def]
        key = (type(value), tuple(value.items()) if isinstance(value, dict) else tuple(value))
        return self._shared.setdefault(key, value)

    def _marked(self, item_ids: list[str], tallies: list[MarkerTally]) -> dict[str, object]:
        """A planned document's marker fields, for the marked items among its sources."""
        codes: dict[str, int] = {}
        for tally in tallies:
            for code, count in tally.codes.items():
                codes[code] = codes.get(code, 0) + count
        return {"marker_codes": self._one_copy(codes), "marked_ids": tuple(item_ids), "markers_digest": "".join(t.digest for t in tallies)}

    def _decision(self, item: _Brief) -> Decision:
        return self.decisions.get(item.id, Decision("release", False, []))


def _codes(exemptions: list[str], tally: MarkerTally | None) -> list[str]:
    seen: list[str] = []
    for code in [*exemptions, *(tally.codes if tally else ())]:
        if code and code not in seen:
            seen.append(code)
    return seen
