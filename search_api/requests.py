"""Requests as the unit of work: create, list, show, update, scope, and the clock events on them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Iterable

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from disclose.store.casework import ClockEvent, ClosureDay, RequestRow
from disclose.store.requestwork import RequestSettingsRow
from search_api import audit
from search_api.clock import (
    PAUSE_FOR,
    ClockError,
    ClockEventIn,
    ClockState,
    RequestType,
    WorkingCalendar,
    calendar_for,
    check_extension,
    clock_state,
    remaining,
)

STATUSES = ("open", "on_hold", "in_review", "answered", "closed", "withdrawn")
REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


class CaseworkError(ValueError):
    """The user asked for something that cannot be done as asked (CLI exit 2, API 4xx)."""


class NotFound(CaseworkError):
    """No such request, item or marker (API 404)."""


class SubjectIdentifiers(BaseModel):
    """A SAR data subject's identifiers: they feed the subject search and tell whose data is whose."""

    names: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    ni_numbers: list[str] = Field(default_factory=list)
    nhs_numbers: list[str] = Field(default_factory=list)

    def all_values(self) -> list[str]:
        return [*self.names, *self.aliases, *self.emails, *self.phones, *self.ni_numbers, *self.nhs_numbers]


class Scope(BaseModel):
    custodians: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    saved_searches: list[str] = Field(default_factory=list)
    subject: SubjectIdentifiers = Field(default_factory=SubjectIdentifiers)


class ClockEventView(BaseModel):
    id: int
    event: str
    on: date
    reason: str
    detail: dict[str, Any]
    author: str
    at: datetime


class RequestView(BaseModel):
    ref: str
    type: str
    requester: str
    received: date
    due: date | None
    status: str
    assignees: list[str]
    notes: str
    scope: Scope
    central_government: bool
    counting_from: date
    working_days_left: int | None
    days_left: int | None
    overdue: bool
    paused: bool
    paused_for: str
    extended: bool
    answered: date | None
    answered_late: bool
    as_of: date
    events: list[ClockEventView]


def request_row(session: Session, ref: str) -> RequestRow:
    row = session.scalar(select(RequestRow).where(RequestRow.ref == ref))
    if row is None:
        raise NotFound(f"no request {ref!r}")
    return row


def request_type(row: RequestRow) -> RequestType:
    return RequestType(row.type)


def parse_type(value: str) -> RequestType:
    try:
        return RequestType(value.strip().lower())
    except ValueError:
        raise CaseworkError(f"unknown request type {value!r}; use one of: {', '.join(t.value for t in RequestType)}") from None


def settings_for(session: Session, row: RequestRow) -> RequestSettingsRow:
    settings = session.get(RequestSettingsRow, row.id)
    if settings is None:
        settings = RequestSettingsRow(request_id=row.id, central_government=False, s12_minutes={})
        session.add(settings)
        session.flush()
    return settings


def closure_days(session: Session) -> list[date]:
    return list(session.scalars(select(ClosureDay.day).order_by(ClosureDay.day)))


def calendar_of(session: Session, kind: RequestType) -> WorkingCalendar:
    return calendar_for(kind, closure_days(session))


def _event_rows(session: Session, row: RequestRow) -> list[ClockEvent]:
    return list(session.scalars(select(ClockEvent).where(ClockEvent.request_id == row.id).order_by(ClockEvent.on, ClockEvent.id)))


def _clock_of(session: Session, row: RequestRow) -> tuple[ClockState, WorkingCalendar, list[ClockEvent]]:
    kind = request_type(row)
    calendar = calendar_of(session, kind)
    events = _event_rows(session, row)
    state = clock_state(kind, row.received, [ClockEventIn(e.event, e.on, e.reason, dict(e.detail or {})) for e in events], calendar)
    return state, calendar, events


def view_of(session: Session, row: RequestRow, today: date | None = None) -> RequestView:
    today = today or date.today()
    state, calendar, events = _clock_of(session, row)
    left = remaining(state, today, calendar)
    settings = session.get(RequestSettingsRow, row.id)
    return RequestView(
        ref=row.ref,
        type=row.type,
        requester=row.requester,
        received=row.received,
        due=state.due,
        status=row.status,
        assignees=list(row.assignees or []),
        notes=row.notes,
        scope=Scope.model_validate(row.scope or {}),
        central_government=bool(settings and settings.central_government),
        counting_from=state.counting_from,
        working_days_left=left.working_days_left,
        days_left=left.days_left,
        overdue=left.overdue,
        paused=state.paused,
        paused_for=state.paused_for,
        extended=state.extended,
        answered=state.answered,
        answered_late=left.answered_late,
        as_of=today,
        events=[
            ClockEventView(id=e.id, event=e.event, on=e.on, reason=e.reason, detail=dict(e.detail or {}), author=e.author, at=e.at)
            for e in events
        ],
    )


def _refresh_due(session: Session, row: RequestRow) -> None:
    session.flush()
    state, _, _ = _clock_of(session, row)
    row.due = state.due


def create_request(
    session: Session,
    *,
    ref: str,
    kind: str,
    received: date,
    actor: str,
    requester: str = "",
    assignees: Iterable[str] = (),
    notes: str = "",
    due: date | None = None,
    central_government: bool = False,
    today: date | None = None,
) -> RequestView:
    if not REF_PATTERN.match(ref):
        raise CaseworkError("a reference is 1-128 letters, digits, '.', '_', '/' or '-', starting with a letter or digit")
    request_kind = parse_type(kind)
    if session.scalar(select(RequestRow.id).where(RequestRow.ref == ref)) is not None:
        raise CaseworkError(f"request {ref!r} already exists")
    if due is not None and request_kind is not RequestType.LEGAL:
        raise CaseworkError("--due is only for legal disclosure; statutory requests get their due date from the clock")
    if due is not None and due < received:
        raise CaseworkError("the due date is before the date received")
    row = RequestRow(
        ref=ref,
        type=request_kind.value,
        requester=requester,
        received=received,
        status="open",
        assignees=list(dict.fromkeys(assignees)),
        notes=notes,
        scope={},
    )
    session.add(row)
    session.flush()
    session.add(RequestSettingsRow(request_id=row.id, central_government=central_government, s12_minutes={}))
    detail = {"until": due.isoformat()} if due else {}
    session.add(ClockEvent(request_id=row.id, event="received", on=received, reason="", detail=detail, author=actor))
    _refresh_due(session, row)
    audit.record(session, actor, "request.create", ref, {"type": request_kind.value, "received": received.isoformat()})
    return view_of(session, row, today)


def list_requests(
    session: Session, *, today: date | None = None, status: str | None = None, overdue_only: bool = False
) -> list[RequestView]:
    query = select(RequestRow).order_by(RequestRow.received, RequestRow.ref)
    if status:
        query = query.where(RequestRow.status == status)
    views = [view_of(session, row, today) for row in session.scalars(query)]
    return [v for v in views if v.overdue] if overdue_only else views


def show_request(session: Session, ref: str, today: date | None = None) -> RequestView:
    return view_of(session, request_row(session, ref), today)


def update_request(
    session: Session,
    ref: str,
    *,
    actor: str,
    status: str | None = None,
    requester: str | None = None,
    add_assignees: Iterable[str] = (),
    remove_assignees: Iterable[str] = (),
    notes: str | None = None,
    append_note: str | None = None,
    central_government: bool | None = None,
    today: date | None = None,
) -> RequestView:
    row = request_row(session, ref)
    changes: dict[str, Any] = {}
    if status is not None:
        if status not in STATUSES:
            raise CaseworkError(f"unknown status {status!r}; use one of: {', '.join(STATUSES)}")
        row.status = changes["status"] = status
    if requester is not None:
        row.requester = changes["requester"] = requester
    remove = set(remove_assignees)
    assignees = [a for a in (row.assignees or []) if a not in remove]
    assignees += [a for a in add_assignees if a not in assignees]
    if assignees != list(row.assignees or []):
        row.assignees = changes["assignees"] = assignees
    if notes is not None:
        row.notes = changes["notes"] = notes
    if append_note:
        row.notes = changes["notes"] = (row.notes + "\n" if row.notes else "") + append_note
    if central_government is not None:
        settings_for(session, row).central_government = changes["central_government"] = central_government
    if not changes:
        raise CaseworkError("nothing to update: give --status, --assignee, --notes, --note, --requester or --central-government")
    audit.record(session, actor, "request.update", ref, changes)
    return view_of(session, row, today)


def _merged(current: list[str], added: Iterable[str], removed: Iterable[str]) -> list[str]:
    gone = set(removed)
    merged = [v for v in current if v not in gone]
    return merged + [v for v in added if v and v not in merged]


def update_scope(
    session: Session,
    ref: str,
    *,
    actor: str,
    custodians: Iterable[str] = (),
    sources: Iterable[str] = (),
    saved_searches: Iterable[str] = (),
    date_from: date | None = None,
    date_to: date | None = None,
    subject: SubjectIdentifiers | None = None,
    remove: Iterable[str] = (),
    clear: bool = False,
    today: date | None = None,
) -> RequestView:
    row = request_row(session, ref)
    scope = Scope() if clear else Scope.model_validate(row.scope or {})
    removed = list(remove)
    scope.custodians = _merged(scope.custodians, custodians, removed)
    scope.sources = _merged(scope.sources, sources, removed)
    scope.saved_searches = _merged(scope.saved_searches, saved_searches, removed)
    if date_from is not None:
        scope.date_from = date_from
    if date_to is not None:
        scope.date_to = date_to
    if scope.date_from and scope.date_to and scope.date_from > scope.date_to:
        raise CaseworkError("the scope's --from date is after its --to date")
    incoming = subject or SubjectIdentifiers()
    if incoming.all_values() and request_type(row) is not RequestType.SAR:
        raise CaseworkError("data-subject identifiers are for SARs only")
    for name in SubjectIdentifiers.model_fields:
        setattr(scope.subject, name, _merged(getattr(scope.subject, name), getattr(incoming, name), removed))
    row.scope = scope.model_dump(mode="json")
    audit.record(session, actor, "request.scope", ref, row.scope)
    return view_of(session, row, today)


def _add_event(session: Session, row: RequestRow, event: str, on: date, reason: str, detail: dict[str, Any], actor: str) -> None:
    if on < row.received:
        raise CaseworkError(f"{on.isoformat()} is before the request was received ({row.received.isoformat()})")
    events = _event_rows(session, row)
    if events and on < events[-1].on:
        raise CaseworkError(f"{on.isoformat()} is before the last clock event ({events[-1].event} on {events[-1].on.isoformat()})")
    session.add(ClockEvent(request_id=row.id, event=event, on=on, reason=reason, detail=detail, author=actor))
    _refresh_due(session, row)
    audit.record(session, actor, f"clock.{event}", row.ref, {"on": on.isoformat(), "reason": reason, **detail})


def pause_clock(
    session: Session, ref: str, *, actor: str, reason: str, on: date | None = None, waiting_for: str = "", today: date | None = None
) -> RequestView:
    row = request_row(session, ref)
    state, _, _ = _clock_of(session, row)
    if state.answered:
        raise CaseworkError("the request has been answered; its clock has stopped")
    if state.paused:
        raise CaseworkError(f"the clock is already paused (since {state.paused_since})")
    if not reason.strip():
        raise CaseworkError("a pause needs a --reason")
    waiting = waiting_for or ("identity" if request_type(row) is RequestType.SAR else "clarification")
    if waiting not in PAUSE_FOR:
        raise CaseworkError(f"--for must be one of: {', '.join(PAUSE_FOR)}")
    _add_event(session, row, "paused", on or date.today(), reason, {"for": waiting}, actor)
    row.status = "on_hold"
    return view_of(session, row, today)


def resume_clock(
    session: Session, ref: str, *, actor: str, reason: str = "", on: date | None = None, today: date | None = None
) -> RequestView:
    row = request_row(session, ref)
    state, _, _ = _clock_of(session, row)
    if not state.paused:
        raise CaseworkError("the clock is not paused")
    _add_event(session, row, "resumed", on or date.today(), reason, {"for": state.paused_for}, actor)
    if row.status == "on_hold":
        row.status = "open"
    return view_of(session, row, today)


def extend_clock(
    session: Session,
    ref: str,
    *,
    actor: str,
    reason: str,
    days: int | None = None,
    months: int | None = None,
    until: date | None = None,
    on: date | None = None,
    today: date | None = None,
) -> RequestView:
    row = request_row(session, ref)
    if not reason.strip():
        raise CaseworkError("an extension needs a recorded --reason")
    state, _, _ = _clock_of(session, row)
    if state.answered:
        raise CaseworkError("the request has been answered; its clock has stopped")
    try:
        detail = check_extension(state, days=days, months=months, until=until)
    except ClockError as error:
        raise CaseworkError(str(error)) from None
    _add_event(session, row, "extended", on or date.today(), reason, detail, actor)
    return view_of(session, row, today)


def answer_request(
    session: Session, ref: str, *, actor: str, reason: str = "", on: date | None = None, today: date | None = None
) -> RequestView:
    row = request_row(session, ref)
    state, _, _ = _clock_of(session, row)
    if state.answered:
        raise CaseworkError(f"the request was already answered on {state.answered.isoformat()}")
    if state.paused:
        raise CaseworkError("the clock is paused; resume it before answering")
    _add_event(session, row, "answered", on or date.today(), reason, {}, actor)
    row.status = "answered"
    return view_of(session, row, today)


class ClosureDayView(BaseModel):
    day: date
    reason: str


def add_closure_day(session: Session, day: date, reason: str, actor: str) -> ClosureDayView:
    if session.get(ClosureDay, day) is not None:
        raise CaseworkError(f"{day.isoformat()} is already a closure day")
    session.add(ClosureDay(day=day, reason=reason))
    _refresh_all_dues(session)
    audit.record(session, actor, "closure.add", day.isoformat(), {"reason": reason})
    return ClosureDayView(day=day, reason=reason)


def remove_closure_day(session: Session, day: date, actor: str) -> ClosureDayView:
    row = session.get(ClosureDay, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} is not a closure day")
    view = ClosureDayView(day=row.day, reason=row.reason)
    session.delete(row)
    _refresh_all_dues(session)
    audit.record(session, actor, "closure.remove", day.isoformat(), {})
    return view


def list_closure_days(session: Session) -> list[ClosureDayView]:
    return [ClosureDayView(day=r.day, reason=r.reason) for r in session.scalars(select(ClosureDay).order_by(ClosureDay.day))]


def _refresh_all_dues(session: Session) -> None:
    session.flush()
    for row in session.scalars(select(RequestRow)):
        _refresh_due(session, row)
