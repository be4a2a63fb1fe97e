"""The review set of a request: adding search hits with their families (and chat context),
recording each search run as evidence of a reasonable search, and per-request decisions."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

from pydantic import BaseModel
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from disclose.items import Item, Kind
from disclose.store.base import now
from disclose.store.casework import RequestRow, ReviewItem, SavedSearch, SearchRecord
from disclose.store.records import children_of, item_from_row, load_item, load_items
from disclose.store.tables import ExceptionRow, ItemRow, SourceRow
from indexer.services import Services
from search_api import audit
from search_api.exemptions import UnknownCode, canonical_code
from search_api.requests import CaseworkError, NotFound, Scope, request_row, request_type

DECISIONS = ("release", "release_in_part", "withhold", "not_held", "duplicate")
NEEDS_EXEMPTION = ("release_in_part", "withhold")
MAX_FAMILY = 10_000  # a family bigger than this is a container (a whole archive), not a family to review
FAILURES_LISTED = 500


class SourceNotSearched(BaseModel):
    source: str
    why: str


class ExtractionFailure(BaseModel):
    item_id: str | None
    path: str
    stage: str
    reason: str


class SearchRecordView(BaseModel):
    id: int
    ref: str
    query: str
    author: str
    at: datetime
    hits: int
    hits_in_scope: int
    added: dict[str, int]  # reason -> items added to the review set
    per_source: dict[str, int]
    per_custodian: dict[str, int]
    scope: dict[str, Any]
    sources_not_searched: list[SourceNotSearched]
    extraction_failures: list[ExtractionFailure]
    extraction_failures_total: int


class ReviewItemView(BaseModel):
    item_id: str
    kind: str
    title: str
    date: datetime | None
    custodians: list[str]
    reason: str
    query: str
    decision: str
    exemptions: list[str]
    decided_by: str
    decided_at: datetime | None
    duplicate_of: str | None


class ReviewSummary(BaseModel):
    ref: str
    total: int
    undecided: int
    by_decision: dict[str, int]
    items: list[ReviewItemView]


# --- scope ---------------------------------------------------------------------------------


def _source_matches(item: Item, wanted: str) -> bool:
    return item.source.startswith(wanted) or item.metadata.get("source_id") == wanted or item.metadata.get("source_kind") == wanted


def in_scope(item: Item, scope: Scope) -> bool:
    """Items with no date are kept: a date range must not hide what cannot be dated."""
    if scope.custodians and not set(scope.custodians) & set(item.custodians):
        return False
    if scope.sources and not any(_source_matches(item, s) for s in scope.sources):
        return False
    if item.date is not None:
        if scope.date_from and item.date < datetime.combine(scope.date_from, datetime.min.time(), timezone.utc):
            return False
        if scope.date_to and item.date >= datetime.combine(scope.date_to + timedelta(days=1), datetime.min.time(), timezone.utc):
            return False
    return True


# --- families and chat context -------------------------------------------------------------


def family_for_review(session: Session, item: Item) -> list[Item]:
    """The email (or file, or chat message) the hit belongs to with everything attached to it.

    The store's family_id groups a whole container (a PST, a chat export) together, which is
    too wide to review as one family, so walk up only through attachments and take the top
    item with all its descendants."""
    top = item
    while top.kind is Kind.ATTACHMENT and top.parent_id:
        parent = load_item(session, top.parent_id)
        if parent is None or parent.kind is Kind.CHAT_CONVERSATION:
            break
        top = parent
    family = [top]
    queue = [top.id]
    while queue and len(family) < MAX_FAMILY:
        for child in children_of(session, queue.pop()):
            family.append(child)
            queue.append(child.id)
    return family


def _local_day(item: Item) -> date | None:
    if item.date is None:
        return None
    return (item.date + timedelta(minutes=item.date_offset_minutes or 0)).date()


def chat_context(session: Session, message: Item, *, window: int = 0, whole_day: bool = False) -> list[Item]:
    """The messages around a chat hit in the same conversation: `window` either side, or its whole (local) day."""
    conversation_id = message.metadata.get("conversation_id") or message.parent_id
    if not conversation_id or (window <= 0 and not whole_day):
        return []
    rows = session.scalars(
        select(ItemRow).where(ItemRow.parent_id == conversation_id, ItemRow.kind == Kind.CHAT_MESSAGE.value)
    ).all()
    messages = [item_from_row(r) for r in rows]
    if whole_day:
        day = _local_day(message)
        return [m for m in messages if m.id != message.id and day is not None and _local_day(m) == day]
    position = int(message.metadata.get("position") or 0)
    return [
        m for m in messages if m.id != message.id and abs(int(m.metadata.get("position") or 0) - position) <= window
    ]


# --- adding to the review set --------------------------------------------------------------


@dataclass
class _Additions:
    request_id: int
    query: str
    known: dict[str, ReviewItem]
    added: Counter = field(default_factory=Counter)

    def add(self, session: Session, item: Item, reason: str) -> None:
        if item.id in self.known:
            return
        decision = ""
        if item.duplicate_of:
            reason, decision = "duplicate", "duplicate"
        row = ReviewItem(request_id=self.request_id, item_id=item.id, reason=reason, query=self.query, decision=decision, exemptions=[])
        session.add(row)
        self.known[item.id] = row
        self.added[reason] += 1


def matching_item_ids(services: Services, query: str) -> list[str]:
    from disclose.query import QuerySyntaxError
    from search_api.search import matching_ids  # the search service owns the query language

    try:
        return list(matching_ids(services, query, include_duplicates=True))
    except QuerySyntaxError as error:
        raise CaseworkError(f"cannot read the query {query!r}: {error}") from None


def subject_query(scope: Scope) -> str:
    """A SAR subject search: any of the data subject's identifiers, each as an exact phrase."""
    values = [v.replace('"', " ").strip() for v in scope.subject.all_values()]
    values = [v for v in dict.fromkeys(values) if v]
    if not values:
        raise CaseworkError("no data-subject identifiers in scope; add them with `disclose request scope REF --name ... --email ...`")
    return " OR ".join(f'"{v}"' for v in values)


def queries_for(session: Session, row: RequestRow, query: str | None, saved: Iterable[str], subject: bool) -> list[str]:
    scope = Scope.model_validate(row.scope or {})
    queries = [query] if query else []
    for name in saved:
        found = session.scalar(select(SavedSearch).where(SavedSearch.name == name))
        if found is None:
            raise NotFound(f"no saved search {name!r}")
        queries.append(found.query)
    if subject:
        queries.append(subject_query(scope))
    if not queries:
        names = scope.saved_searches
        if not names:
            raise CaseworkError("give a QUERY, --saved NAME or --subject (or put saved searches in the request's scope)")
        return queries_for(session, row, None, names, False)
    return queries


def add_hits(
    services: Services, session: Session, ref: str, query: str, *, actor: str, window: int = 0, whole_day: bool = False
) -> SearchRecordView:
    """Run `query` for the request and add the in-scope hits, their families and chat context."""
    if window < 0:
        raise CaseworkError("--context must be 0 or more messages")
    row = request_row(session, ref)
    scope = Scope.model_validate(row.scope or {})
    hit_ids = matching_item_ids(services, query)
    known = {r.item_id: r for r in session.scalars(select(ReviewItem).where(ReviewItem.request_id == row.id))}
    additions = _Additions(row.id, query, known)
    hits_in_scope: list[Item] = []
    for start in range(0, len(hit_ids), 500):
        for item in load_items(session, hit_ids[start : start + 500]):
            if in_scope(item, scope):
                hits_in_scope.append(item)
    for item in hits_in_scope:
        primary = load_item(session, item.duplicate_of) if item.duplicate_of else None
        if primary is not None:
            additions.add(session, primary, "hit")  # the copy that is reviewed comes first in the set
        additions.add(session, item, "hit")
        target = primary or item
        for member in family_for_review(session, target):
            additions.add(session, member, "family")
        if target.kind is Kind.CHAT_MESSAGE:
            for message in chat_context(session, target, window=window, whole_day=whole_day):
                additions.add(session, message, "context")
    session.flush()
    record = _save_record(session, row, scope, query, actor, len(hit_ids), hits_in_scope, dict(additions.added))
    audit.record(
        session, actor, "request.search", ref,
        {"query": query, "hits": len(hit_ids), "in_scope": len(hits_in_scope), "added": dict(additions.added), "record": record.id},
    )
    return record


# --- the search record ---------------------------------------------------------------------


def _source_label(item: Item, sources: list[SourceRow]) -> str:
    matches = [s for s in sources if s.uri and item.source.startswith(s.uri)]
    if matches:
        return max(matches, key=lambda s: len(s.uri)).uri
    kind = item.metadata.get("source_kind")
    if kind:
        return str(kind)
    return item.source.split("://", 1)[0] + "://" if "://" in item.source else (item.source or "unknown")


def sources_not_searched(session: Session, scope: Scope) -> list[SourceNotSearched]:
    result: list[SourceNotSearched] = []
    sources = session.scalars(select(SourceRow).order_by(SourceRow.uri)).all()
    for source in sources:
        if scope.sources and not any(source.uri.startswith(s) or source.id == s or source.kind == s for s in scope.sources):
            result.append(SourceNotSearched(source=source.uri, why="outside the request's scope (sources)"))
        elif scope.custodians and source.custodian and source.custodian not in scope.custodians:
            result.append(SourceNotSearched(source=source.uri, why=f"custodian {source.custodian} is outside the request's scope"))
        elif source.last_run_at is None:
            result.append(SourceNotSearched(source=source.uri, why="collection has not completed; its items may be missing"))
    for wanted in scope.sources:
        collected = any(s.uri.startswith(wanted) or s.id == wanted or s.kind == wanted for s in sources)
        if not collected and session.scalar(select(ItemRow.id).where(ItemRow.source.startswith(wanted)).limit(1)) is None:
            result.append(SourceNotSearched(source=wanted, why="named in the scope but nothing has been collected from it"))
    for custodian in scope.custodians:
        # JSON lists are stored as JSON text on SQLite and PostgreSQL alike; match the encoded name
        pattern = "%" + json.dumps(custodian) + "%"
        present = session.scalar(select(ItemRow.id).where(cast(ItemRow.custodians, String).like(pattern)).limit(1))
        if present is None:
            result.append(SourceNotSearched(source=f"custodian:{custodian}", why="nothing has been collected for this custodian"))
    return result


def extraction_failures(session: Session, scope: Scope) -> tuple[list[ExtractionFailure], int]:
    """Exceptions-report entries for items within the request's scope."""
    rows = session.execute(
        select(ExceptionRow, ItemRow).join(ItemRow, ItemRow.id == ExceptionRow.item_id).order_by(ExceptionRow.id)
    ).all()
    failures = [
        ExtractionFailure(item_id=e.item_id, path=e.path, stage=e.stage, reason=e.reason)
        for e, i in rows
        if in_scope(item_from_row(i), scope)
    ]
    return failures[:FAILURES_LISTED], len(failures)


def _save_record(
    session: Session, row: RequestRow, scope: Scope, query: str, actor: str, hits: int, in_scope_items: list[Item],
    added: dict[str, int],
) -> SearchRecordView:
    sources = session.scalars(select(SourceRow)).all()
    per_source = Counter(_source_label(i, list(sources)) for i in in_scope_items)
    per_custodian: Counter = Counter()
    for item in in_scope_items:
        for custodian in item.custodians or ["(none)"]:
            per_custodian[custodian] += 1
    failures, failures_total = extraction_failures(session, scope)
    counts = {
        "hits": hits,
        "hits_in_scope": len(in_scope_items),
        "added": added,
        "per_source": dict(per_source),
        "per_custodian": dict(per_custodian),
        "scope": scope.model_dump(mode="json"),
        "sources_not_searched": [s.model_dump() for s in sources_not_searched(session, scope)],
        "extraction_failures": [f.model_dump() for f in failures],
        "extraction_failures_total": failures_total,
    }
    record = SearchRecord(request_id=row.id, query=query, author=actor, at=now(), counts=counts)
    session.add(record)
    session.flush()
    return _record_view(record, row.ref)


def _record_view(record: SearchRecord, ref: str) -> SearchRecordView:
    counts = dict(record.counts or {})
    return SearchRecordView(
        id=record.id,
        ref=ref,
        query=record.query,
        author=record.author,
        at=record.at,
        hits=int(counts.get("hits", 0)),
        hits_in_scope=int(counts.get("hits_in_scope", 0)),
        added=counts.get("added", {}),
        per_source=counts.get("per_source", {}),
        per_custodian=counts.get("per_custodian", {}),
        scope=counts.get("scope", {}),
        sources_not_searched=[SourceNotSearched(**s) for s in counts.get("sources_not_searched", [])],
        extraction_failures=[ExtractionFailure(**f) for f in counts.get("extraction_failures", [])],
        extraction_failures_total=int(counts.get("extraction_failures_total", 0)),
    )


def search_records(session: Session, ref: str) -> list[SearchRecordView]:
    row = request_row(session, ref)
    records = session.scalars(select(SearchRecord).where(SearchRecord.request_id == row.id).order_by(SearchRecord.id))
    return [_record_view(r, ref) for r in records]


# --- decisions -----------------------------------------------------------------------------


def _item_view(session: Session, review: ReviewItem) -> ReviewItemView:
    item = session.get(ItemRow, review.item_id)
    return ReviewItemView(
        item_id=review.item_id,
        kind=item.kind if item else "",
        title=item.title if item else "(item no longer in the store)",
        date=item.date if item else None,
        custodians=list(item.custodians or []) if item else [],
        reason=review.reason,
        query=review.query,
        decision=review.decision,
        exemptions=list(review.exemptions or []),
        decided_by=review.decided_by,
        decided_at=review.decided_at,
        duplicate_of=item.duplicate_of if item else None,
    )


def decide(
    session: Session, ref: str, item_id: str, *, decision: str, exemptions: Iterable[str], actor: str
) -> ReviewItemView:
    row = request_row(session, ref)
    if decision not in DECISIONS:
        raise CaseworkError(f"unknown decision {decision!r}; use one of: {', '.join(DECISIONS)}")
    review = session.scalar(select(ReviewItem).where(ReviewItem.request_id == row.id, ReviewItem.item_id == item_id))
    if review is None:
        raise NotFound(f"item {item_id} is not in the review set of {ref}")
    kind = request_type(row)
    try:
        codes = [canonical_code(kind, code) for code in exemptions]
    except UnknownCode as error:
        raise CaseworkError(str(error)) from None
    if decision in NEEDS_EXEMPTION and not codes:
        raise CaseworkError(f"{decision} needs the exemption(s) relied on: --exemption CODE")
    if decision in ("release", "duplicate") and codes:
        raise CaseworkError(f"{decision} relies on no exemption; leave out --exemption")
    review.decision = decision
    review.exemptions = list(dict.fromkeys(codes))
    review.decided_by = actor
    review.decided_at = now()
    audit.record(session, actor, "review.decide", ref, {"item": item_id, "decision": decision, "exemptions": review.exemptions})
    return _item_view(session, review)


def review_summary(session: Session, ref: str, *, undecided_only: bool = False) -> ReviewSummary:
    row = request_row(session, ref)
    reviews = session.scalars(select(ReviewItem).where(ReviewItem.request_id == row.id).order_by(ReviewItem.id)).all()
    by_decision = Counter(r.decision or "undecided" for r in reviews)
    shown = [r for r in reviews if not r.decision] if undecided_only else reviews
    return ReviewSummary(
        ref=ref,
        total=len(reviews),
        undecided=by_decision.get("undecided", 0),
        by_decision=dict(by_decision),
        items=[_item_view(session, r) for r in shown],
    )


def next_undecided(session: Session, ref: str) -> ReviewItemView | None:
    row = request_row(session, ref)
    review = session.scalars(
        select(ReviewItem).where(ReviewItem.request_id == row.id, ReviewItem.decision == "").order_by(ReviewItem.id).limit(1)
    ).first()
    return _item_view(session, review) if review else None


def review_counts(session: Session, request_id: int) -> dict[str, int]:
    rows = session.execute(
        select(ReviewItem.reason, func.count()).where(ReviewItem.request_id == request_id).group_by(ReviewItem.reason)
    ).all()
    return {reason: count for reason, count in rows}
