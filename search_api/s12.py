"""FOIA s12 / FOISA s12 cost estimates from a request's review set, kept as a record for a refusal.

The Fees Regulations (SI 2004/3244 reg 4(3)) let an authority count only the time to determine
whether it holds the information, locate it, retrieve it and extract it — not the time to
consider exemptions or redact — at £25 an hour against £450 (18 hours), or £600 (24 hours)
for the central-government bodies in Part I of Schedule 1 to FOIA. Under FOISA (SSI
2004/467) the limit is £600 with staff time charged at no more than £15 an hour (40 hours).
The EIR have no cost limit; for them the FOIA figures are shown as a guide to reg 12(4)(b).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.store.base import now
from disclose.store.casework import ReviewItem, SearchRecord
from disclose.store.requestwork import CostEstimateRow
from disclose.store.tables import ItemRow
from search_api import audit
from search_api.clock import RequestType
from search_api.requests import CaseworkError, request_row, request_type, settings_for

DEFAULT_MINUTES = {"locate": 1.0, "retrieve": 1.0, "extract": 2.0}


class Minutes(BaseModel):
    locate: float = Field(DEFAULT_MINUTES["locate"], ge=0)
    retrieve: float = Field(DEFAULT_MINUTES["retrieve"], ge=0)
    extract: float = Field(DEFAULT_MINUTES["extract"], ge=0)

    @property
    def per_item(self) -> float:
        return self.locate + self.retrieve + self.extract


class Limit(BaseModel):
    regime: str
    pounds: int
    hourly_rate: int
    hours: float
    basis: str


class CostEstimate(BaseModel):
    id: int | None = None
    ref: str
    type: str
    at: datetime
    author: str
    items: int  # items to locate, retrieve and extract (the review set, duplicates left out)
    hits: int  # hits of the searches run for the request (latest run of each query)
    per_custodian: dict[str, int]
    minutes_per_item: Minutes
    minutes: float
    hours: float
    cost_pounds: float
    limit: Limit
    exceeds_limit: bool
    central_government: bool
    applies: bool  # False for EIR/EISR: shown only as a guide
    excluded: str = "Time spent considering exemptions and redacting is not counted (SI 2004/3244 reg 4(3))."


def limit_for(kind: RequestType, central_government: bool) -> Limit:
    if kind in (RequestType.FOISA, RequestType.EISR):
        return Limit(regime="FOISA", pounds=600, hourly_rate=15, hours=40.0, basis="FOISA Fees Regulations 2004: £600, staff time at up to £15/hour")
    if central_government:
        return Limit(regime="FOIA", pounds=600, hourly_rate=25, hours=24.0, basis="SI 2004/3244 reg 3(2): £600 for Schedule 1 Part I bodies, £25/hour")
    return Limit(regime="FOIA", pounds=450, hourly_rate=25, hours=18.0, basis="SI 2004/3244 reg 3(3): £450 for other public authorities, £25/hour")


def estimate(
    session: Session, ref: str, *, actor: str, minutes: Minutes | None = None, central_government: bool | None = None, save: bool = True
) -> CostEstimate:
    row = request_row(session, ref)
    kind = request_type(row)
    if kind in (RequestType.SAR, RequestType.LEGAL):
        raise CaseworkError(f"there is no cost limit for a {kind.value.upper()} request (s12 is for FOIA and FOISA)")
    settings = settings_for(session, row)
    if minutes is None:
        minutes = Minutes.model_validate(settings.s12_minutes or {})
    else:
        settings.s12_minutes = minutes.model_dump()
    central = settings.central_government if central_government is None else central_government
    item_ids = list(
        session.scalars(select(ReviewItem.item_id).where(ReviewItem.request_id == row.id, ReviewItem.decision != "duplicate"))
    )
    per_custodian: Counter = Counter()
    for start in range(0, len(item_ids), 500):
        for custodians in session.scalars(select(ItemRow.custodians).where(ItemRow.id.in_(item_ids[start : start + 500]))):
            for custodian in custodians or ["(none)"]:
                per_custodian[custodian] += 1
    latest: dict[str, int] = {}
    for record in session.scalars(select(SearchRecord).where(SearchRecord.request_id == row.id).order_by(SearchRecord.id)):
        latest[record.query] = int((record.counts or {}).get("hits_in_scope", 0))
    total_minutes = len(item_ids) * minutes.per_item
    hours = round(total_minutes / 60, 2)
    limit = limit_for(kind, central)
    result = CostEstimate(
        ref=ref,
        type=kind.value,
        at=now(),
        author=actor,
        items=len(item_ids),
        hits=sum(latest.values()),
        per_custodian=dict(per_custodian),
        minutes_per_item=minutes,
        minutes=total_minutes,
        hours=hours,
        cost_pounds=round(total_minutes / 60 * limit.hourly_rate, 2),
        limit=limit,
        exceeds_limit=total_minutes / 60 > limit.hours,
        central_government=central,
        applies=kind in (RequestType.FOI, RequestType.FOISA),
    )
    if save:
        stored = CostEstimateRow(request_id=row.id, author=actor, at=result.at, estimate=result.model_dump(mode="json"))
        session.add(stored)
        session.flush()
        result.id = stored.id
        audit.record(session, actor, "request.estimate", ref, {"estimate": stored.id, "hours": hours, "exceeds_limit": result.exceeds_limit})
    return result


def saved_estimates(session: Session, ref: str) -> list[CostEstimate]:
    row = request_row(session, ref)
    rows = session.scalars(select(CostEstimateRow).where(CostEstimateRow.request_id == row.id).order_by(CostEstimateRow.id))
    return [CostEstimate.model_validate({**r.estimate, "id": r.id}) for r in rows]
