"""From a request's review set, decisions and accepted markers to the ordered list of schedule entries.

The tables are read directly so that bundles do not depend on the review services' code. An item
in the review set with no decision yet is released (in part, when it carries accepted markers) and
shown as "not yet reviewed".

A plan stays small whatever the size of the bundle: it holds ids, titles, dates and a tally of
markers per document, never item text, metadata or the markers themselves, and its documents are
kept in a temporary file as they are planned, read back in order (`Spilled`). Planning copies the
review set a batch at a time, without text, into a temporary database where it is grouped and
sorted (`planner`); markers are read an item at a time, in item order, and the text of marked items
a batch at a time, to check each marker against it and to collect the distinct strings the markers
cover (for masking and the leak check). The process that renders a document reads its items and
markers again (`load_document`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from disclose.items import text_version
from disclose.store import CaseStore, open_store
from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
from disclose.store.records import load_items
from disclose.store.tables import ItemRow
from search_api.bundle.model import BundleError, LoadedDocument, Marker, MarkerTally, PlannedDocument, Spilled, markers_digest
from search_api.bundle.planner import BATCH, Planner, Scratch, briefs, decision_of

TEXT_BATCH = 50  # items whose text is read at once while planning (about 1 MB for long documents)
PAGE_CACHE_KIB = 2048  # SQLite page cache of a bundle's own connections (SQLite's default size)


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


def plan_bundle(session: Session, ref: str) -> Plan:
    request = session.scalar(select(RequestRow).where(RequestRow.ref == ref))
    if request is None:
        raise BundleError(f"no request with reference {ref!r}")
    if session.scalar(select(ReviewItem.id).where(ReviewItem.request_id == request.id).limit(1)) is None:
        raise BundleError(f"request {ref} has nothing in its review set: add items first")
    scratch = Scratch()
    try:
        redactions = _markers(session, request.id, scratch)
        _copy_review_set(session, request.id, scratch)
        documents = Planner(session, scratch).documents()
    finally:
        scratch.close()
    return Plan(ref=ref, request_id=request.id, request_type=request.type, documents=documents, redactions=redactions)


def _copy_review_set(session: Session, request_id: int, scratch: Scratch) -> None:
    """The review set's items and decisions, a batch at a time, into the planning database; items no
    longer in the case store are left out."""
    reviews = (
        select(ReviewItem.item_id, ReviewItem.decision, ReviewItem.exemptions).where(ReviewItem.request_id == request_id).order_by(ReviewItem.id)
    )
    for rows in session.execute(reviews.execution_options(yield_per=BATCH)).partitions():
        marked = scratch.tallied([row.item_id for row in rows])
        decisions = {row.item_id: decision_of(row.decision, row.exemptions, row.item_id in marked) for row in rows}
        found = briefs(session, list(decisions))
        scratch.add_briefs(((found[i], decisions[i]) for i in found), in_review=True)


_MARKER_COLUMNS = (MarkerRow.id, MarkerRow.item_id, MarkerRow.start, MarkerRow.end, MarkerRow.code)


def _markers(session: Session, request_id: int, scratch: Scratch) -> list[tuple[str, str]]:
    """The distinct (string, code) pairs the request's accepted markers cover, each marker checked
    against its item's text; a tally of each marked item's markers goes to the planning database.

    Markers come in item order, so only the markers of the TEXT_BATCH items being checked are held
    at once, whatever the number of markers in the request."""
    query = (
        select(*_MARKER_COLUMNS, MarkerRow.text_version).where(*_accepted(request_id)).order_by(MarkerRow.item_id, MarkerRow.id)
    )
    pairs: dict[tuple[str, str], None] = {}
    batch: dict[str, list[tuple[int, Marker, str]]] = {}
    for row in session.execute(query).yield_per(2000):
        if row.item_id not in batch and len(batch) >= TEXT_BATCH:
            scratch.add_tallies(_check_markers(session, batch, pairs))
            batch = {}
        marker = Marker(row.item_id, row.start, row.end, row.code)
        batch.setdefault(row.item_id, []).append((row.id, marker, row.text_version))
    if batch:
        scratch.add_tallies(_check_markers(session, batch, pairs))
    return list(pairs)


def _accepted(request_id: int) -> tuple:
    return (MarkerRow.request_id == request_id, MarkerRow.status == "accepted")


def _check_markers(
    session: Session, batch: dict[str, list[tuple[int, Marker, str]]], pairs: dict[tuple[str, str], None]
) -> dict[str, MarkerTally]:
    tallies: dict[str, MarkerTally] = {}
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
    return tallies


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
