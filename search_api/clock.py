"""Statutory clocks: working-day calendars and the due date a request's clock events give.

What is implemented, and why:

* FOIA 2000 and EIR 2004: the 20th working day following the date of receipt (the day of
  receipt is not counted). A working day is any day but a Saturday, Sunday, Christmas Day,
  Good Friday or a bank holiday in *any* part of the UK (FOIA s10(6); EIR reg 2(1)), so the
  calendar is the union of the `holidays` subdivisions ENG, NIR, SCT and WLS.
* FOISA 2002 and EISR 2004: 20 working days counting Scottish bank holidays only (FOISA s73).
* Clarification (or, for SARs, identity) pauses: when the authority asks for more detail the
  period runs again from the day the answer arrives (FOIA s1(3) with s10(6)(b); EIR reg 9(4);
  FOISA s1(3)), so a resume *restarts* the count from the resume date. A pause for a fee
  (FOIA s10(2)) instead *disregards* the working days from the notice to the payment.
* Extensions: EIR/EISR reg 7 allow 40 working days in total for complex, voluminous requests;
  FOIA public-interest extensions (s10(3)) add the officer's "reasonable" time, recorded with
  its reason (default +20 working days, per ICO guidance, or a date the officer gives). FOISA
  has no extension power.
* SAR (UK GDPR Art 12(3)): one month from receipt to the corresponding calendar date, or the
  last day of the month when there is none (31 Jan -> 28/29 Feb); a due day that is not a
  working day moves to the next working day (ICO guidance); up to two further months with a
  recorded reason. Per ICO guidance the month starts again from the day the identity evidence,
  clarification or fee is received, so a resume restarts the month from the resume date. For
  the "next working day" rule the UK-wide calendar is used, as for FOIA.
* Legal disclosure: no statutory clock; the due date is whatever the user sets.

Admin-managed closure days (the `closure_days` table) are extra non-working days for every
calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Iterable, Sequence

import holidays
from dateutil.easter import easter
from dateutil.relativedelta import relativedelta


class RequestType(StrEnum):
    FOI = "foi"
    EIR = "eir"
    FOISA = "foisa"
    EISR = "eisr"
    SAR = "sar"
    LEGAL = "legal"


WORKING_DAY_TYPES = frozenset({RequestType.FOI, RequestType.EIR, RequestType.FOISA, RequestType.EISR})
UK_WIDE = ("ENG", "NIR", "SCT", "WLS")
SCOTLAND = ("SCT",)
STANDARD_WORKING_DAYS = 20
ENVIRONMENTAL_EXTENDED_WORKING_DAYS = 40  # EIR / EISR reg 7(1)
FOIA_DEFAULT_EXTENSION_WORKING_DAYS = 20  # ICO: a public-interest extension should not normally exceed 20 more
SAR_MAX_EXTENSION_MONTHS = 2

PAUSE_FOR = ("clarification", "identity", "fee")


class ClockError(ValueError):
    """A clock event that the law (or the clock's current state) does not allow."""


@lru_cache(maxsize=256)
def _bank_holidays(subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year).keys())


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count as working days for one regime."""

    subdivisions: tuple[str, ...]
    closures: frozenset[date] = frozenset()

    def non_working_reason(self, day: date) -> str:
        if day.weekday() >= 5:
            return "weekend"
        if day.month == 12 and day.day == 25:
            return "Christmas Day"
        if day == easter(day.year) - timedelta(days=2):
            return "Good Friday"
        for subdivision in self.subdivisions:
            if day in _bank_holidays(subdivision, day.year):
                return f"bank holiday ({subdivision})"
        if day in self.closures:
            return "closure day"
        return ""

    def is_working_day(self, day: date) -> bool:
        return not self.non_working_reason(day)

    def add_working_days(self, start: date, count: int, *, disregard: frozenset[date] = frozenset()) -> date:
        """The `count`th working day after `start` (start itself is not counted)."""
        day = start
        counted = 0
        while counted < count:
            day += timedelta(days=1)
            if day not in disregard and self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for offset in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=offset)))

    def next_working_day_from(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def calendar_for(request_type: RequestType, closures: Iterable[date] = ()) -> WorkingCalendar:
    subdivisions = SCOTLAND if request_type in (RequestType.FOISA, RequestType.EISR) else UK_WIDE
    return WorkingCalendar(subdivisions, frozenset(closures))


def add_months_corresponding(start: date, months: int) -> date:
    """The corresponding calendar date `months` later, or the last day of a shorter month."""
    return start + relativedelta(months=months)


@dataclass(frozen=True)
class ClockEventIn:
    """One clock event as the clock needs it: received, paused, resumed, extended, due_set, answered."""

    event: str
    on: date
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClockState:
    request_type: RequestType
    received: date
    counting_from: date  # the date of receipt the count runs from (moves on after a clarification)
    due: date | None
    paused: bool = False
    paused_since: date | None = None
    paused_for: str = ""
    answered: date | None = None
    extended: bool = False
    working_day_limit: int | None = None  # FOI types: 20 or 40
    extension_months: int = 0  # SAR
    disregarded_working_days: int = 0  # FOIA fee pauses

    @property
    def uses_working_days(self) -> bool:
        return self.request_type in WORKING_DAY_TYPES


@dataclass(frozen=True)
class Remaining:
    days_left: int | None
    working_days_left: int | None
    overdue: bool
    answered_late: bool


def clock_state(
    request_type: RequestType, received: date, events: Sequence[ClockEventIn], calendar: WorkingCalendar
) -> ClockState:
    """Replay the events (in order) to the due date they give."""
    state = ClockState(request_type, received, received, None)
    if request_type in WORKING_DAY_TYPES:
        return _working_day_clock(state, events, calendar)
    if request_type is RequestType.SAR:
        return _sar_clock(state, events, calendar)
    return _legal_clock(state, events)


def _working_day_clock(state: ClockState, events: Sequence[ClockEventIn], calendar: WorkingCalendar) -> ClockState:
    limit = STANDARD_WORKING_DAYS
    disregard: set[date] = set()
    extra_days = 0
    until: date | None = None
    for event in events:
        if event.event == "paused":
            state.paused, state.paused_since, state.paused_for = True, event.on, event.detail.get("for", "clarification")
        elif event.event == "resumed" and state.paused:
            assert state.paused_since is not None
            if state.paused_for == "fee":
                # FOIA s10(2): the working days from the fees notice to the payment are disregarded
                span = (event.on - state.paused_since).days + 1
                disregard.update(state.paused_since + timedelta(days=n) for n in range(span))
            else:
                state.counting_from = event.on
                until = None
            state.paused, state.paused_since, state.paused_for = False, None, ""
        elif event.event == "extended":
            state.extended = True
            if "working_days_total" in event.detail:
                limit = int(event.detail["working_days_total"])
            if "days" in event.detail:
                extra_days += int(event.detail["days"])
            if "until" in event.detail:
                until = date.fromisoformat(event.detail["until"])
        elif event.event == "answered":
            state.answered = event.on
    state.working_day_limit = limit + extra_days
    state.disregarded_working_days = sum(1 for d in disregard if calendar.is_working_day(d))
    if not state.paused:
        state.due = until or calendar.add_working_days(state.counting_from, limit + extra_days, disregard=frozenset(disregard))
    return state


def _sar_clock(state: ClockState, events: Sequence[ClockEventIn], calendar: WorkingCalendar) -> ClockState:
    for event in events:
        if event.event == "paused":
            state.paused, state.paused_since, state.paused_for = True, event.on, event.detail.get("for", "identity")
        elif event.event == "resumed" and state.paused:
            state.counting_from = event.on  # ICO: the month starts again when the ID/clarification/fee arrives
            state.paused, state.paused_since, state.paused_for = False, None, ""
        elif event.event == "extended":
            state.extended = True
            state.extension_months += int(event.detail.get("months", 0))
        elif event.event == "answered":
            state.answered = event.on
    if not state.paused:
        corresponding = add_months_corresponding(state.counting_from, 1 + state.extension_months)
        state.due = calendar.next_working_day_from(corresponding)
    return state


def _legal_clock(state: ClockState, events: Sequence[ClockEventIn]) -> ClockState:
    for event in events:
        if event.event in ("due_set", "extended", "received") and event.detail.get("until"):
            state.due = date.fromisoformat(event.detail["until"])
            state.extended = state.extended or event.event == "extended"
        elif event.event == "paused":
            state.paused, state.paused_since, state.paused_for = True, event.on, event.detail.get("for", "clarification")
        elif event.event == "resumed":
            state.paused, state.paused_since, state.paused_for = False, None, ""
        elif event.event == "answered":
            state.answered = event.on
    return state


def remaining(state: ClockState, today: date, calendar: WorkingCalendar) -> Remaining:
    if state.due is None:
        return Remaining(None, None, False, False)
    days_left = (state.due - today).days
    working = calendar.working_days_between(today, state.due) if state.uses_working_days else None
    if state.answered is not None:
        return Remaining(days_left, working, False, state.answered > state.due)
    return Remaining(days_left, working, today > state.due, False)


def check_extension(state: ClockState, *, days: int | None, months: int | None, until: date | None) -> dict[str, Any]:
    """The detail an extension event records, or ClockError when the regime does not allow it."""
    kind = state.request_type
    if state.paused:
        raise ClockError("the clock is paused; resume it before extending")
    if kind is RequestType.FOISA:
        raise ClockError("FOISA has no power to extend the 20 working days")
    if kind in (RequestType.EIR, RequestType.EISR):
        if months or until:
            raise ClockError(f"{kind.value.upper()} extensions are in working days (reg 7: up to 40 in total)")
        total = ENVIRONMENTAL_EXTENDED_WORKING_DAYS if days is None else STANDARD_WORKING_DAYS + days
        if total > ENVIRONMENTAL_EXTENDED_WORKING_DAYS or total <= STANDARD_WORKING_DAYS:
            raise ClockError("EIR/EISR allow 1 to 20 further working days (40 in total)")
        return {"working_days_total": total}
    if kind is RequestType.FOI:
        if months:
            raise ClockError("FOIA extensions are in working days (--days) or to a date (--until)")
        if until is not None:
            if state.due is not None and until <= state.due:
                raise ClockError(f"the new due date must be after the current one ({state.due.isoformat()})")
            return {"until": until.isoformat()}
        extra = FOIA_DEFAULT_EXTENSION_WORKING_DAYS if days is None else days
        if extra <= 0:
            raise ClockError("--days must be a positive number of working days")
        return {"days": extra}
    if kind is RequestType.SAR:
        if days or until:
            raise ClockError("SAR extensions are in months (--months 1 or 2)")
        wanted = 2 if months is None else months
        if wanted <= 0 or state.extension_months + wanted > SAR_MAX_EXTENSION_MONTHS:
            raise ClockError(
                f"a SAR can be extended by at most {SAR_MAX_EXTENSION_MONTHS} further months "
                f"({state.extension_months} already used)"
            )
        return {"months": wanted}
    if until is None:
        raise ClockError("legal disclosure has no statutory clock: give the new due date with --until")
    return {"until": until.isoformat()}
