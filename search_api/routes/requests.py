"""The requests API: requests and their clocks, review, redaction markers, suggestions, s12 and the audit log."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Iterator, Literal, Optional

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from indexer.services import Services
from search_api import audit, redaction, review, s12, suggest
from search_api import requests as casework
from search_api.deps import get_services
from search_api.exemptions import Exemption, codes_for
from search_api.requests import CaseworkError, NotFound, SubjectIdentifiers

router = APIRouter(tags=["requests"])

ServicesDep = Annotated[Services, Depends(get_services)]
ActorHeader = Annotated[Optional[str], Header(alias="X-Disclose-User", description="Who is acting (default: the server's user).")]


@contextmanager
def _casework(services: Services) -> Iterator[Session]:
    """One transaction per call; casework errors become 404 (not found) or 400 (cannot be done as asked)."""
    try:
        with services.store.session() as session:
            yield session
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except CaseworkError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None


class CreateRequest(BaseModel):
    ref: str = Field(min_length=1, max_length=128)
    type: Literal["foi", "eir", "foisa", "eisr", "sar", "legal"]
    received: date
    requester: str = ""
    assignees: list[str] = Field(default_factory=list)
    notes: str = ""
    due: date | None = Field(None, description="Legal disclosure only.")
    central_government: bool = False


class UpdateRequest(BaseModel):
    status: Literal["open", "on_hold", "in_review", "answered", "closed", "withdrawn"] | None = None
    requester: str | None = None
    add_assignees: list[str] = Field(default_factory=list)
    remove_assignees: list[str] = Field(default_factory=list)
    notes: str | None = None
    append_note: str | None = None
    central_government: bool | None = None


class ScopeChange(BaseModel):
    custodians: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    saved_searches: list[str] = Field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    subject: SubjectIdentifiers = Field(default_factory=SubjectIdentifiers)
    remove: list[str] = Field(default_factory=list)
    clear: bool = False


class PauseBody(BaseModel):
    reason: str = Field(min_length=1)
    waiting_for: Literal["clarification", "identity", "fee"] | None = None
    on: date | None = None


class ClockBody(BaseModel):
    reason: str = ""
    on: date | None = None


class ExtendBody(BaseModel):
    reason: str = Field(min_length=1)
    days: int | None = Field(None, gt=0)
    months: int | None = Field(None, gt=0)
    until: date | None = None
    on: date | None = None


class AddBody(BaseModel):
    query: str = Field(min_length=1)
    context: int = Field(0, ge=0)
    day: bool = False


class AddResult(BaseModel):
    ref: str
    record: review.SearchRecordView
    review_total: int
    undecided: int


class DecisionBody(BaseModel):
    decision: Literal["release", "release_in_part", "withhold", "not_held", "duplicate"]
    exemptions: list[str] = Field(default_factory=list)


class RedactBody(BaseModel):
    text: str = Field(min_length=1)
    code: str = Field(min_length=1)
    item_id: str | None = None
    reason: str = ""


class MarkerBody(BaseModel):
    item_id: str
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    code: str
    reason: str = ""


class MarkerEdit(BaseModel):
    code: str | None = None
    reason: str | None = None
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, gt=0)


class EstimateBody(BaseModel):
    minutes_per_item: s12.Minutes | None = None
    central_government: bool | None = None


class ClosureBody(BaseModel):
    day: date
    reason: str = ""


class NextItem(BaseModel):
    ref: str
    item: review.ReviewItemView | None


class AuditList(BaseModel):
    total: int
    entries: list[dict[str, Any]]


# --- requests and clocks -------------------------------------------------------------------


@router.post("/requests", response_model=casework.RequestView, status_code=201)
def create_request(body: CreateRequest, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.create_request(
            session, ref=body.ref, kind=body.type, received=body.received, actor=audit.resolve_actor(actor),
            requester=body.requester, assignees=body.assignees, notes=body.notes, due=body.due,
            central_government=body.central_government,
        )


@router.get("/requests", response_model=list[casework.RequestView])
def list_requests(
    services: ServicesDep, status: Optional[str] = None, overdue: bool = False, as_of: Optional[date] = None
) -> list[casework.RequestView]:
    with _casework(services) as session:
        return casework.list_requests(session, today=as_of, status=status, overdue_only=overdue)


@router.get("/requests/{ref}", response_model=casework.RequestView)
def show_request(ref: str, services: ServicesDep, as_of: Optional[date] = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.show_request(session, ref, as_of)


@router.patch("/requests/{ref}", response_model=casework.RequestView)
def update_request(ref: str, body: UpdateRequest, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.update_request(
            session, ref, actor=audit.resolve_actor(actor), status=body.status, requester=body.requester,
            add_assignees=body.add_assignees, remove_assignees=body.remove_assignees, notes=body.notes,
            append_note=body.append_note, central_government=body.central_government,
        )


@router.patch("/requests/{ref}/scope", response_model=casework.RequestView)
def update_scope(ref: str, body: ScopeChange, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.update_scope(
            session, ref, actor=audit.resolve_actor(actor), custodians=body.custodians, sources=body.sources,
            saved_searches=body.saved_searches, date_from=body.date_from, date_to=body.date_to, subject=body.subject,
            remove=body.remove, clear=body.clear,
        )


@router.post("/requests/{ref}/pause", response_model=casework.RequestView)
def pause(ref: str, body: PauseBody, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.pause_clock(session, ref, actor=audit.resolve_actor(actor), reason=body.reason, on=body.on, waiting_for=body.waiting_for or "")


@router.post("/requests/{ref}/resume", response_model=casework.RequestView)
def resume(ref: str, body: ClockBody, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.resume_clock(session, ref, actor=audit.resolve_actor(actor), reason=body.reason, on=body.on)


@router.post("/requests/{ref}/extend", response_model=casework.RequestView)
def extend(ref: str, body: ExtendBody, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.extend_clock(
            session, ref, actor=audit.resolve_actor(actor), reason=body.reason, days=body.days, months=body.months,
            until=body.until, on=body.on,
        )


@router.post("/requests/{ref}/answer", response_model=casework.RequestView)
def answer(ref: str, body: ClockBody, services: ServicesDep, actor: ActorHeader = None) -> casework.RequestView:
    with _casework(services) as session:
        return casework.answer_request(session, ref, actor=audit.resolve_actor(actor), reason=body.reason, on=body.on)


@router.get("/closure-days", response_model=list[casework.ClosureDayView])
def closure_days(services: ServicesDep) -> list[casework.ClosureDayView]:
    with _casework(services) as session:
        return casework.list_closure_days(session)


@router.post("/closure-days", response_model=casework.ClosureDayView, status_code=201)
def add_closure_day(body: ClosureBody, services: ServicesDep, actor: ActorHeader = None) -> casework.ClosureDayView:
    with _casework(services) as session:
        return casework.add_closure_day(session, body.day, body.reason, audit.resolve_actor(actor))


@router.delete("/closure-days/{day}", response_model=casework.ClosureDayView)
def remove_closure_day(day: date, services: ServicesDep, actor: ActorHeader = None) -> casework.ClosureDayView:
    with _casework(services) as session:
        return casework.remove_closure_day(session, day, audit.resolve_actor(actor))


# --- review --------------------------------------------------------------------------------


@router.post("/requests/{ref}/items", response_model=AddResult)
def add_items(ref: str, body: AddBody, services: ServicesDep, actor: ActorHeader = None) -> AddResult:
    if body.context and body.day:
        raise HTTPException(status_code=422, detail="use context or day, not both")
    with _casework(services) as session:
        record = review.add_hits(services, session, ref, body.query, actor=audit.resolve_actor(actor), window=body.context, whole_day=body.day)
        summary = review.review_summary(session, ref)
        return AddResult(ref=ref, record=record, review_total=summary.total, undecided=summary.undecided)


@router.get("/requests/{ref}/record", response_model=list[review.SearchRecordView])
def search_record(ref: str, services: ServicesDep) -> list[review.SearchRecordView]:
    with _casework(services) as session:
        return review.search_records(session, ref)


@router.get("/requests/{ref}/review", response_model=review.ReviewSummary)
def review_list(ref: str, services: ServicesDep, undecided: bool = False) -> review.ReviewSummary:
    with _casework(services) as session:
        return review.review_summary(session, ref, undecided_only=undecided)


@router.get("/requests/{ref}/review/next", response_model=NextItem)
def review_next(ref: str, services: ServicesDep) -> NextItem:
    with _casework(services) as session:
        return NextItem(ref=ref, item=review.next_undecided(session, ref))


@router.put("/requests/{ref}/review/{item_id}", response_model=review.ReviewItemView)
def decide(ref: str, item_id: str, body: DecisionBody, services: ServicesDep, actor: ActorHeader = None) -> review.ReviewItemView:
    with _casework(services) as session:
        return review.decide(session, ref, item_id, decision=body.decision, exemptions=body.exemptions, actor=audit.resolve_actor(actor))


@router.get("/requests/{ref}/codes", response_model=list[dict[str, str]])
def codes(ref: str, services: ServicesDep) -> list[dict[str, str]]:
    with _casework(services) as session:
        row = casework.request_row(session, ref)
        found: list[Exemption] = codes_for(casework.request_type(row))
        return [{"code": c.code, "label": c.label} for c in found]


# --- redaction -----------------------------------------------------------------------------


@router.post("/requests/{ref}/redactions", response_model=redaction.RedactResult)
def redact(ref: str, body: RedactBody, services: ServicesDep, actor: ActorHeader = None) -> redaction.RedactResult:
    with _casework(services) as session:
        return redaction.redact_text(
            session, ref, text=body.text, code=body.code, actor=audit.resolve_actor(actor), item_id=body.item_id, reason=body.reason
        )


@router.post("/requests/{ref}/suggestions", response_model=suggest.SuggestResult)
def suggestions(ref: str, services: ServicesDep, item_id: Optional[str] = None, actor: ActorHeader = None) -> suggest.SuggestResult:
    with _casework(services) as session:
        return suggest.suggest(session, ref, actor=audit.resolve_actor(actor), item_id=item_id)


@router.get("/requests/{ref}/markers", response_model=list[redaction.MarkerView])
def list_markers(
    ref: str, services: ServicesDep, item_id: Optional[str] = None, status: Optional[str] = None
) -> list[redaction.MarkerView]:
    with _casework(services) as session:
        return redaction.list_markers(session, ref, item_id=item_id, status=status)


@router.post("/requests/{ref}/markers", response_model=redaction.MarkerView, status_code=201)
def add_marker(ref: str, body: MarkerBody, services: ServicesDep, actor: ActorHeader = None) -> redaction.MarkerView:
    with _casework(services) as session:
        return redaction.add_marker(
            session, ref, item_id=body.item_id, start=body.start, end=body.end, code=body.code,
            actor=audit.resolve_actor(actor), reason=body.reason,
        )


@router.patch("/markers/{marker_id}", response_model=redaction.MarkerView)
def edit_marker(marker_id: int, body: MarkerEdit, services: ServicesDep, actor: ActorHeader = None) -> redaction.MarkerView:
    with _casework(services) as session:
        return redaction.edit_marker(
            session, marker_id, actor=audit.resolve_actor(actor), code=body.code, reason=body.reason, start=body.start, end=body.end
        )


@router.delete("/markers/{marker_id}", response_model=redaction.MarkerView)
def remove_marker(marker_id: int, services: ServicesDep, actor: ActorHeader = None) -> redaction.MarkerView:
    with _casework(services) as session:
        return redaction.remove_marker(session, marker_id, actor=audit.resolve_actor(actor))


@router.post("/markers/{marker_id}/accept", response_model=redaction.MarkerView)
def accept_marker(marker_id: int, services: ServicesDep, actor: ActorHeader = None) -> redaction.MarkerView:
    with _casework(services) as session:
        return redaction.set_marker_status(session, marker_id, "accepted", actor=audit.resolve_actor(actor))


@router.post("/markers/{marker_id}/reject", response_model=redaction.MarkerView)
def reject_marker(marker_id: int, services: ServicesDep, actor: ActorHeader = None) -> redaction.MarkerView:
    with _casework(services) as session:
        return redaction.set_marker_status(session, marker_id, "rejected", actor=audit.resolve_actor(actor))


# --- s12 and audit -------------------------------------------------------------------------


@router.post("/requests/{ref}/estimate", response_model=s12.CostEstimate)
def estimate(ref: str, body: EstimateBody, services: ServicesDep, actor: ActorHeader = None) -> s12.CostEstimate:
    with _casework(services) as session:
        return s12.estimate(
            session, ref, actor=audit.resolve_actor(actor), minutes=body.minutes_per_item, central_government=body.central_government
        )


@router.get("/requests/{ref}/estimates", response_model=list[s12.CostEstimate])
def estimates(ref: str, services: ServicesDep) -> list[s12.CostEstimate]:
    with _casework(services) as session:
        return s12.saved_estimates(session, ref)


@router.get("/audit", response_model=AuditList)
def audit_list(
    services: ServicesDep,
    action: Optional[str] = None,
    target: Optional[str] = None,
    limit: Annotated[Optional[int], Query(ge=1)] = None,
) -> AuditList:
    with _casework(services) as session:
        entries = audit.list_entries(session, action=action, target=target, limit=limit)
        return AuditList(
            total=len(entries),
            entries=[{**e.__dict__, "at": e.at.isoformat()} for e in entries],
        )


@router.get("/audit/verify")
def audit_verify(services: ServicesDep) -> dict[str, Any]:
    with _casework(services) as session:
        result = audit.verify(session)
        return {"ok": result.ok, "entries": result.entries, "head_hash": result.head_hash, "first_bad_seq": result.first_bad_seq, "problem": result.problem}
