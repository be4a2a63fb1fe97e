"""Statutory deadlines against dates worked out by hand from the legislation.

FOIA s10(1)/(6) and EIR reg 5(2)/2(1): the 20th working day following receipt (receipt day not
counted); a working day is not a Saturday, Sunday, Christmas Day, Good Friday or a bank holiday
anywhere in the UK. FOISA s10/s73 and EISR: Scottish bank holidays only. SAR: UK GDPR Art 12(3)
and ICO guidance (corresponding date, last day of a shorter month, next working day).
"""

from __future__ import annotations

from datetime import date

import pytest

from search_api.clock import (
    ClockError,
    ClockEventIn,
    RequestType,
    calendar_for,
    check_extension,
    clock_state,
    remaining,
)

FOI, EIR, FOISA, EISR, SAR, LEGAL = (
    RequestType.FOI, RequestType.EIR, RequestType.FOISA, RequestType.EISR, RequestType.SAR, RequestType.LEGAL,
)


def due(kind: RequestType, received: date, *events: ClockEventIn, closures: tuple[date, ...] = ()) -> date | None:
    return clock_state(kind, received, list(events), calendar_for(kind, closures)).due


def test_foia_over_christmas_and_new_year_counts_2_january_as_a_holiday():
    # Received Fri 20 Dec 2024. Working days: 23(1) 24(2) [25 Christmas, 26 Boxing] 27(3) 30(4) 31(5)
    # [1 Jan New Year, 2 Jan Scottish bank holiday -> a holiday "in any part of the UK"]
    # 3(6) 6(7) 7(8) 8(9) 9(10) 10(11) 13(12) 14(13) 15(14) 16(15) 17(16) 20(17) 21(18) 22(19) 23(20)
    assert due(FOI, date(2024, 12, 20)) == date(2025, 1, 23)


def test_foia_with_christmas_on_a_sunday_uses_the_substitute_days():
    # Received Fri 23 Dec 2022. [26 Boxing Day, 27 substitute Christmas] 28(1) 29(2) 30(3)
    # [2 Jan substitute New Year, 3 Jan Scottish substitute for 2 Jan] 4(4) 5(5) 6(6) 9(7) 10(8) 11(9)
    # 12(10) 13(11) 16(12) 17(13) 18(14) 19(15) 20(16) 23(17) 24(18) 25(19) 26(20)
    assert due(FOI, date(2022, 12, 23)) == date(2023, 1, 26)


def test_easter_monday_is_not_a_scottish_bank_holiday():
    # Easter 2025: Good Friday 18 Apr, Easter Monday 21 Apr (not in Scotland); May Day 5 May (everywhere).
    # FOIA from Thu 10 Apr: 11(1) 14(2) 15(3) 16(4) 17(5) [18, 21] 22(6) 23(7) 24(8) 25(9) 28(10) 29(11)
    # 30(12) 1 May(13) 2(14) [5] 6(15) 7(16) 8(17) 9(18) 12(19) 13(20)
    assert due(FOI, date(2025, 4, 10)) == date(2025, 5, 13)
    # FOISA counts Easter Monday: 11(1) 14(2) 15(3) 16(4) 17(5) [18] 21(6) 22(7) 23(8) 24(9) 25(10)
    # 28(11) 29(12) 30(13) 1 May(14) 2(15) [5] 6(16) 7(17) 8(18) 9(19) 12(20)
    assert due(FOISA, date(2025, 4, 10)) == date(2025, 5, 12)
    assert due(EISR, date(2025, 4, 10)) == date(2025, 5, 12)


def test_st_andrews_day_substitute_monday():
    # 30 Nov 2024 is a Saturday: Scotland's substitute bank holiday is Mon 2 Dec, a holiday in a part of the UK.
    # From Mon 4 Nov: 5..8 (4) 11..15 (9) 18..22 (14) 25..29 (19) [2 Dec] 3 Dec (20)
    assert due(FOI, date(2024, 11, 4)) == date(2024, 12, 3)
    assert due(FOISA, date(2024, 11, 4)) == date(2024, 12, 3)
    # 30 Nov 2025 is a Sunday: substitute Mon 1 Dec. From Mon 3 Nov 2025: 4..7 (4) 10..14 (9) 17..21 (14)
    # 24..28 (19) [1 Dec] 2 Dec (20)
    assert due(FOISA, date(2025, 11, 3)) == date(2025, 12, 2)


def test_st_patricks_day_counts_for_foia_but_not_foisa():
    # 17 Mar 2025 (Mon) is a bank holiday in Northern Ireland only.
    # FOIA from Mon 3 Mar: 4..7 (4) 10..14 (9) [17] 18..21 (13) 24..28 (18) 31(19) 1 Apr(20)
    assert due(FOI, date(2025, 3, 3)) == date(2025, 4, 1)
    # FOISA: 4..7 (4) 10..14 (9) 17..21 (14) 24..28 (19) 31 (20)
    assert due(FOISA, date(2025, 3, 3)) == date(2025, 3, 31)


def test_twelfth_of_july_substitute_in_northern_ireland():
    # 12 Jul 2025 is a Saturday: NI's holiday moves to Mon 14 Jul.
    # EIR from Mon 30 Jun: 1..4 Jul (4) 7..11 (9) [14] 15..18 (13) 21..25 (18) 28(19) 29(20)
    assert due(EIR, date(2025, 6, 30)) == date(2025, 7, 29)
    # FOISA counts 14 Jul: ... 14..18 (14) 21..25 (19) 28 (20)
    assert due(FOISA, date(2025, 6, 30)) == date(2025, 7, 28)


def test_summer_bank_holidays_differ_between_scotland_and_england():
    # Scotland: first Monday of August (4 Aug 2025); England, Wales, NI: last Monday (25 Aug 2025).
    # FOISA from Mon 28 Jul: 29 30 31 1 (4) [4 Aug] 5..8 (8) 11..15 (13) 18..22 (18) 25(19) 26(20)
    assert due(FOISA, date(2025, 7, 28)) == date(2025, 8, 26)
    # FOIA excludes both: ... 18..22 (18) [25] 26(19) 27(20)
    assert due(FOI, date(2025, 7, 28)) == date(2025, 8, 27)


def test_leap_year_february_and_st_patricks_substitute():
    # Received Tue 27 Feb 2024: 28(1) 29(2) 1 Mar(3) 4..8 (8) 11..15 (13) [18 Mar: NI substitute for
    # Sunday 17 Mar] 19..22 (17) 25(18) 26(19) 27(20)
    assert due(FOI, date(2024, 2, 27)) == date(2024, 3, 27)


def test_sar_month_ends_and_leap_years():
    # One month to the corresponding date; no 31 Feb, so the last day of February.
    assert due(SAR, date(2025, 1, 31)) == date(2025, 2, 28)  # Friday
    assert due(SAR, date(2024, 1, 31)) == date(2024, 2, 29)  # leap year, Thursday
    # 29 Feb 2024 -> 29 Mar 2024, Good Friday; then a weekend and Easter Monday 1 Apr: Tue 2 Apr
    assert due(SAR, date(2024, 2, 29)) == date(2024, 4, 2)
    assert due(SAR, date(2025, 9, 3)) == date(2025, 10, 3)  # ordinary case (Friday)


def test_sar_due_on_a_non_working_day_moves_to_the_next_working_day():
    assert due(SAR, date(2025, 5, 14)) == date(2025, 6, 16)  # 14 Jun 2025 is a Saturday
    assert due(SAR, date(2025, 4, 5)) == date(2025, 5, 6)  # 5 May 2025 is May Day
    assert due(SAR, date(2024, 11, 25)) == date(2024, 12, 27)  # 25 Dec, then Boxing Day


def test_sar_extension_counts_three_months_from_receipt_not_month_by_month():
    # 31 Jan + 3 months = 30 Apr (the last day of April), not 28 Feb + 2 months = 28 Apr.
    extended = ClockEventIn("extended", date(2025, 2, 3), "complex", {"months": 2})
    assert due(SAR, date(2025, 1, 31), extended) == date(2025, 4, 30)
    state = clock_state(SAR, date(2025, 1, 31), [extended], calendar_for(SAR))
    with pytest.raises(ClockError):
        check_extension(state, days=None, months=1, until=None)  # two further months at most


def test_sar_month_restarts_when_identity_arrives():
    # Received 3 Mar 2025, ID asked for 5 Mar, received 20 Mar: one month from 20 Mar is Sun 20 Apr
    # (Easter Day), Mon 21 Apr is Easter Monday -> Tue 22 Apr.
    events = [
        ClockEventIn("paused", date(2025, 3, 5), "ID", {"for": "identity"}),
        ClockEventIn("resumed", date(2025, 3, 20)),
    ]
    assert due(SAR, date(2025, 3, 3), events[0]) is None  # while paused there is no due date
    assert due(SAR, date(2025, 3, 3), *events) == date(2025, 4, 22)


def test_foia_clarification_restarts_and_fee_pause_disregards_days():
    # No pause: from Mon 2 Jun 2025 the 20th working day is Mon 30 Jun.
    assert due(FOI, date(2025, 6, 2)) == date(2025, 6, 30)
    # Clarification asked 3 Jun, received Tue 10 Jun: s10(6) the count runs from 10 Jun:
    # 11 12 13 (3) 16..20 (8) 23..27 (13) 30 1 2 3 4 (18) 7(19) 8(20)
    clarification = [
        ClockEventIn("paused", date(2025, 6, 3), "which year?", {"for": "clarification"}),
        ClockEventIn("resumed", date(2025, 6, 10)),
    ]
    assert due(FOI, date(2025, 6, 2), *clarification) == date(2025, 7, 8)
    # Fees notice Wed 4 Jun, paid Mon 9 Jun: s10(2) disregards 4, 5, 6 and 9 Jun (4 working days)
    # so 30 Jun moves on 4 working days: 1 2 3 4 Jul.
    fee = [ClockEventIn("paused", date(2025, 6, 4), "fee", {"for": "fee"}), ClockEventIn("resumed", date(2025, 6, 9))]
    assert due(FOI, date(2025, 6, 2), *fee) == date(2025, 7, 4)


def test_extensions_by_regime():
    received = date(2025, 6, 2)  # 20th working day: 30 Jun
    # FOIA public interest +20 working days: 1..4 Jul (24) 7..11 (29) [14 Jul NI] 15..18 (33)
    # 21..25 (38) 28(39) 29(40)
    state = clock_state(FOI, received, [], calendar_for(FOI))
    detail = check_extension(state, days=None, months=None, until=None)
    assert due(FOI, received, ClockEventIn("extended", date(2025, 6, 20), "PIT", detail)) == date(2025, 7, 29)
    # FOIA to a date the officer gives
    until = check_extension(state, days=None, months=None, until=date(2025, 7, 15))
    assert due(FOI, received, ClockEventIn("extended", date(2025, 6, 20), "PIT", until)) == date(2025, 7, 15)
    # EIR reg 7: 40 working days in total, the same 29 Jul
    eir = check_extension(clock_state(EIR, received, [], calendar_for(EIR)), days=None, months=None, until=None)
    assert due(EIR, received, ClockEventIn("extended", date(2025, 6, 20), "complex", eir)) == date(2025, 7, 29)
    with pytest.raises(ClockError):
        check_extension(clock_state(EIR, received, [], calendar_for(EIR)), days=25, months=None, until=None)
    with pytest.raises(ClockError, match="FOISA"):
        check_extension(clock_state(FOISA, received, [], calendar_for(FOISA)), days=None, months=None, until=None)


def test_closure_days_are_not_working_days():
    # Closure on Tue 10 Jun 2025 pushes 30 Jun to Tue 1 Jul.
    assert due(FOI, date(2025, 6, 2), closures=(date(2025, 6, 10),)) == date(2025, 7, 1)


def test_legal_has_no_clock_unless_the_user_sets_one():
    assert due(LEGAL, date(2025, 6, 2)) is None
    set_due = ClockEventIn("received", date(2025, 6, 2), "", {"until": "2025-09-01"})
    assert due(LEGAL, date(2025, 6, 2), set_due) == date(2025, 9, 1)


def test_days_left_and_overdue():
    calendar = calendar_for(FOI)
    state = clock_state(FOI, date(2024, 12, 20), [], calendar)  # due 23 Jan 2025
    left = remaining(state, date(2025, 1, 20), calendar)
    assert (left.working_days_left, left.days_left, left.overdue) == (3, 3, False)  # 21, 22, 23 Jan
    late = remaining(state, date(2025, 1, 24), calendar)
    assert (late.working_days_left, late.overdue) == (-1, True)
    answered = clock_state(FOI, date(2024, 12, 20), [ClockEventIn("answered", date(2025, 1, 27))], calendar)
    after = remaining(answered, date(2025, 2, 10), calendar)
    assert (after.overdue, after.answered_late) == (False, True)
