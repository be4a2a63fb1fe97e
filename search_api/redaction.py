"""Redaction markers: character spans of an item's immutable text, with the code relied on.

A marker is `{item_id, text_version, start, end, code, reason, author, created_at}` plus a
status (suggested, accepted, rejected) and an origin (manual, text-match, suggestion). Bundles
burn in accepted markers only, so a suggestion never redacts anything until a person accepts it.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.store.casework import MarkerRow, RequestRow, ReviewItem
from disclose.store.tables import ItemRow
from search_api import audit
from search_api.exemptions import UnknownCode, canonical_code
from search_api.requests import CaseworkError, NotFound, request_row, request_type

STATUSES = ("suggested", "accepted", "rejected")


class MarkerView(BaseModel):
    id: int
    ref: str
    item_id: str
    text_version: str
    start: int
    end: int
    text: str  # the words the marker covers, so a reviewer can check it
    code: str
    reason: str
    status: str
    origin: str
    author: str
    created_at: datetime
    stale: bool  # the item's text no longer has the version the marker was made on


class RedactResult(BaseModel):
    ref: str
    text: str
    code: str
    items_searched: int
    occurrences: int
    created: list[MarkerView]
    already_marked: int


def checked_code(session: Session, row: RequestRow, code: str) -> str:
    try:
        return canonical_code(request_type(row), code)
    except UnknownCode as error:
        raise CaseworkError(str(error)) from None


def occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    """Every case-insensitive occurrence of `needle`; whole words only where its ends are word characters."""
    needle = needle.strip()
    if not needle:
        return []
    pattern = re.escape(needle)
    if re.match(r"\w", needle):
        pattern = r"(?<!\w)" + pattern
    if re.search(r"\w$", needle):
        pattern = pattern + r"(?!\w)"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text, flags=re.IGNORECASE)]


def review_item_ids(session: Session, row: RequestRow) -> list[str]:
    """The request's review set, leaving out duplicates (they are never released themselves)."""
    query = (
        select(ReviewItem.item_id)
        .where(ReviewItem.request_id == row.id, ReviewItem.decision != "duplicate")
        .order_by(ReviewItem.id)
    )
    return list(session.scalars(query))


def _item_text(session: Session, item_id: str) -> tuple[str, str]:
    item = session.get(ItemRow, item_id)
    if item is None:
        raise NotFound(f"no item {item_id!r}")
    return item.text or "", item.text_version or ""


def marker_view(session: Session, marker: MarkerRow, ref: str | None = None) -> MarkerView:
    text, version = _item_text(session, marker.item_id)
    if ref is None:
        ref = session.get(RequestRow, marker.request_id).ref  # type: ignore[union-attr]
    return MarkerView(
        id=marker.id,
        ref=ref,
        item_id=marker.item_id,
        text_version=marker.text_version,
        start=marker.start,
        end=marker.end,
        text=text[marker.start : marker.end] if marker.text_version == version else "",
        code=marker.code,
        reason=marker.reason,
        status=marker.status,
        origin=marker.origin,
        author=marker.author,
        created_at=marker.created_at,
        stale=marker.text_version != version,
    )


def _existing_spans(session: Session, request_id: int, item_id: str) -> set[tuple[int, int, str]]:
    rows = session.execute(
        select(MarkerRow.start, MarkerRow.end, MarkerRow.code).where(MarkerRow.request_id == request_id, MarkerRow.item_id == item_id)
    )
    return {(r.start, r.end, r.code) for r in rows}


def redact_text(
    session: Session, ref: str, *, text: str, code: str, actor: str, item_id: str | None = None, reason: str = ""
) -> RedactResult:
    """Mark every occurrence of `text` in the request's review-set items (or one of them)."""
    row = request_row(session, ref)
    code = checked_code(session, row, code)
    if not text.strip():
        raise CaseworkError("--text is empty")
    in_set = review_item_ids(session, row)
    if item_id is not None:
        if item_id not in in_set:
            raise CaseworkError(f"item {item_id} is not in the review set of {ref}")
        targets = [item_id]
    else:
        if not in_set:
            raise CaseworkError(f"the review set of {ref} is empty; add items first with `disclose request add {ref} QUERY`")
        targets = in_set
    created: list[MarkerRow] = []
    found = 0
    already = 0
    for target in targets:
        item_text, version = _item_text(session, target)
        spans = occurrences(item_text, text)
        found += len(spans)
        existing = _existing_spans(session, row.id, target)
        for start, end in spans:
            if (start, end, code) in existing:
                already += 1
                continue
            marker = MarkerRow(
                request_id=row.id, item_id=target, text_version=version, start=start, end=end, code=code,
                reason=reason, status="accepted", origin="text-match", author=actor,
            )
            session.add(marker)
            created.append(marker)
    session.flush()
    audit.record(
        session, actor, "redact.text", ref,
        {"text": text, "code": code, "item": item_id, "occurrences": found, "markers": [m.id for m in created]},
    )
    return RedactResult(
        ref=ref, text=text, code=code, items_searched=len(targets), occurrences=found,
        created=[marker_view(session, m, ref) for m in created], already_marked=already,
    )


def _check_span(session: Session, item_id: str, start: int, end: int) -> str:
    text, version = _item_text(session, item_id)
    if not (0 <= start < end <= len(text)):
        raise CaseworkError(f"span {start}-{end} is outside the item's text (0-{len(text)}) or empty")
    return version


def add_marker(
    session: Session, ref: str, *, item_id: str, start: int, end: int, code: str, actor: str, reason: str = "",
    status: str = "accepted", origin: str = "manual",
) -> MarkerView:
    row = request_row(session, ref)
    code = checked_code(session, row, code)
    if item_id not in review_item_ids(session, row):
        raise CaseworkError(f"item {item_id} is not in the review set of {ref}")
    version = _check_span(session, item_id, start, end)
    marker = MarkerRow(
        request_id=row.id, item_id=item_id, text_version=version, start=start, end=end, code=code,
        reason=reason, status=status, origin=origin, author=actor,
    )
    session.add(marker)
    session.flush()
    audit.record(session, actor, "marker.add", ref, {"marker": marker.id, "item": item_id, "start": start, "end": end, "code": code})
    return marker_view(session, marker, ref)


def list_markers(session: Session, ref: str, *, item_id: str | None = None, status: str | None = None) -> list[MarkerView]:
    row = request_row(session, ref)
    query = select(MarkerRow).where(MarkerRow.request_id == row.id)
    if item_id:
        query = query.where(MarkerRow.item_id == item_id)
    if status:
        if status not in STATUSES:
            raise CaseworkError(f"unknown marker status {status!r}; use one of: {', '.join(STATUSES)}")
        query = query.where(MarkerRow.status == status)
    markers = session.scalars(query.order_by(MarkerRow.item_id, MarkerRow.start, MarkerRow.id)).all()
    return [marker_view(session, m, ref) for m in markers]


def accepted_markers(session: Session, ref: str, item_id: str) -> list[MarkerView]:
    """What a bundle burns in for one item: accepted markers made on the item's current text only."""
    return [m for m in list_markers(session, ref, item_id=item_id, status="accepted") if not m.stale]


def _marker(session: Session, marker_id: int) -> MarkerRow:
    marker = session.get(MarkerRow, marker_id)
    if marker is None:
        raise NotFound(f"no marker {marker_id}")
    return marker


def edit_marker(
    session: Session, marker_id: int, *, actor: str, code: str | None = None, reason: str | None = None,
    start: int | None = None, end: int | None = None,
) -> MarkerView:
    marker = _marker(session, marker_id)
    row = session.get(RequestRow, marker.request_id)
    assert row is not None
    changes: dict[str, object] = {}
    if code is not None:
        marker.code = changes["code"] = checked_code(session, row, code)
    if reason is not None:
        marker.reason = changes["reason"] = reason
    if start is not None or end is not None:
        new_start = marker.start if start is None else start
        new_end = marker.end if end is None else end
        marker.text_version = _check_span(session, marker.item_id, new_start, new_end)
        marker.start, marker.end = new_start, new_end
        changes.update(start=new_start, end=new_end)
    if not changes:
        raise CaseworkError("nothing to change: give --code, --reason, --start or --end")
    audit.record(session, actor, "marker.edit", row.ref, {"marker": marker_id, **changes})
    return marker_view(session, marker, row.ref)


def remove_marker(session: Session, marker_id: int, *, actor: str) -> MarkerView:
    marker = _marker(session, marker_id)
    view = marker_view(session, marker)
    session.delete(marker)
    audit.record(session, actor, "marker.remove", view.ref, {"marker": marker_id, "item": view.item_id, "code": view.code})
    return view


def set_marker_status(session: Session, marker_id: int, status: str, *, actor: str) -> MarkerView:
    """Accept or reject a marker (usually a suggestion)."""
    if status not in ("accepted", "rejected"):
        raise CaseworkError("a marker is accepted or rejected")
    marker = _marker(session, marker_id)
    marker.status = status
    view = marker_view(session, marker)
    audit.record(session, actor, f"marker.{status.removesuffix('ed')}", view.ref, {"marker": marker_id, "item": view.item_id})
    return view
