"""Deadline arithmetic: working days, clock hours, warnings and bank holidays.

Rows are written in London wall-clock time with the zone in force, e.g.
"Mon 2026-03-30 09:00 BST"; the helper checks the weekday and the zone name
agree with the date, so a mistyped row fails loudly instead of testing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resolution.domain.calendar import (
    Calendar,
    LeadTime,
    Timescale,
    add_hours,
    add_working_days,
    deadline,
    make_calendar,
    parse_lead_time,
    parse_timescale,
    to_local,
    warning_time,
    working_days_between,
)

LONDON = ZoneInfo("Europe/London")
YEARS = range(2024, 2031)


def at(text: str) -> datetime:
    """Read 'Mon 2026-03-30 09:00 BST' (or '... UTC') as an aware datetime in UTC, checking it.

    Returned in UTC because Python compares and subtracts datetimes sharing a tzinfo by wall
    clock, and never finds an ambiguous autumn time equal to one in another zone.
    """
    weekday, day, clock, zone = text.split()
    naive = datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")
    if zone == "UTC":
        moment = naive.replace(tzinfo=UTC)
    else:  # in the repeated autumn hour the zone name picks the first or second 01:30
        moment = naive.replace(
            tzinfo=LONDON, fold=int(naive.replace(tzinfo=LONDON).tzname() != zone)
        )
    assert moment.strftime("%a") == weekday, f"{text}: that date is a {moment:%A}"
    assert moment.tzname() == zone, f"{text}: London is on {moment.tzname()} then"
    return moment.astimezone(UTC)


@pytest.fixture(scope="module")
def cal() -> Calendar:
    return make_calendar(years=YEARS)


# --- add_working_days -------------------------------------------------------------------------

WORKING_DAY_ROWS = [
    # plain weeks
    ("Mon 2026-03-02 09:00 GMT", 5, "Mon 2026-03-09 17:00 GMT", "plain week"),
    ("Mon 2026-03-02 09:00 GMT", 1, "Tue 2026-03-03 17:00 GMT", "next day"),
    ("Mon 2026-03-02 00:00 GMT", 1, "Tue 2026-03-03 17:00 GMT", "start of day does not count"),
    ("Mon 2026-03-02 23:59 GMT", 1, "Tue 2026-03-03 17:00 GMT", "late start does not count"),
    ("Wed 2026-03-04 14:00 GMT", 10, "Wed 2026-03-18 17:00 GMT", "two weeks"),
    # awkward starts
    ("Fri 2026-03-06 18:30 GMT", 1, "Mon 2026-03-09 17:00 GMT", "Friday evening"),
    ("Fri 2026-03-06 18:30 GMT", 5, "Fri 2026-03-13 17:00 GMT", "Friday evening, a week"),
    ("Sat 2026-03-07 10:00 GMT", 1, "Mon 2026-03-09 17:00 GMT", "Saturday"),
    ("Sun 2026-03-08 10:00 GMT", 5, "Fri 2026-03-13 17:00 GMT", "Sunday"),
    ("Mon 2026-05-04 10:00 BST", 1, "Tue 2026-05-05 17:00 BST", "on May Day"),
    ("Mon 2026-05-04 10:00 BST", 5, "Mon 2026-05-11 17:00 BST", "on May Day, a week"),
    ("Fri 2026-05-22 12:00 BST", 1, "Tue 2026-05-26 17:00 BST", "over the spring holiday"),
    # Easter 2026: Good Friday 3 April, Easter Monday 6 April
    ("Mon 2026-03-30 09:00 BST", 5, "Wed 2026-04-08 17:00 BST", "across Easter"),
    ("Thu 2026-04-02 09:00 BST", 1, "Tue 2026-04-07 17:00 BST", "Maundy Thursday"),
    ("Fri 2026-04-03 09:00 BST", 1, "Tue 2026-04-07 17:00 BST", "on Good Friday"),
    # August bank holiday: Monday 31 August 2026
    ("Fri 2026-08-28 09:00 BST", 1, "Tue 2026-09-01 17:00 BST", "over the August holiday"),
    ("Thu 2026-08-27 09:00 BST", 5, "Fri 2026-09-04 17:00 BST", "August"),
    # Christmas 2026: Fri 25, Sat 26 with Boxing Day observed Mon 28; New Year Fri 1 Jan 2027
    ("Thu 2026-12-24 09:00 GMT", 1, "Tue 2026-12-29 17:00 GMT", "Christmas Eve 2026"),
    ("Wed 2026-12-23 09:00 GMT", 5, "Mon 2027-01-04 17:00 GMT", "Christmas and New Year 2026"),
    # Christmas 2027 on a weekend: Sat 25, Sun 26, observed Mon 27 and Tue 28
    ("Fri 2027-12-24 09:00 GMT", 1, "Wed 2027-12-29 17:00 GMT", "weekend Christmas 2027"),
    ("Thu 2027-12-23 09:00 GMT", 3, "Thu 2027-12-30 17:00 GMT", "weekend Christmas 2027, 3"),
    # New Year's Day 2028 on a Saturday, observed Monday 3 January
    ("Fri 2027-12-31 09:00 GMT", 1, "Tue 2028-01-04 17:00 GMT", "weekend New Year 2028"),
    # Christmas 2028 on Monday and Tuesday
    ("Fri 2028-12-22 09:00 GMT", 1, "Wed 2028-12-27 17:00 GMT", "Christmas 2028"),
    # clock changes: the deadline stays at 17:00 local
    ("Fri 2026-03-27 09:00 GMT", 1, "Mon 2026-03-30 17:00 BST", "GMT to BST"),
    ("Mon 2026-03-23 09:00 GMT", 5, "Mon 2026-03-30 17:00 BST", "GMT to BST, a week"),
    ("Fri 2026-10-23 09:00 BST", 1, "Mon 2026-10-26 17:00 GMT", "BST to GMT"),
    ("Wed 2026-10-21 09:00 BST", 5, "Wed 2026-10-28 17:00 GMT", "BST to GMT, a week"),
    # the start's London date counts, not its UTC date
    ("Mon 2026-06-01 23:30 UTC", 1, "Wed 2026-06-03 17:00 BST", "UTC Monday is London Tuesday"),
    ("Thu 2026-01-01 00:30 UTC", 1, "Fri 2026-01-02 17:00 GMT", "New Year's Day in UTC"),
]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [pytest.param(s, d, e, id=f"{note}: {s} + {d} -> {e}") for s, d, e, note in WORKING_DAY_ROWS],
)
def test_add_working_days(cal: Calendar, start: str, days: int, expected: str) -> None:
    due = add_working_days(at(start), days, cal)
    assert due == at(expected)
    assert due.tzinfo is UTC
    assert to_local(due, cal).time() == time(17, 0)


def test_across_the_spring_clock_change_the_deadline_is_an_hour_earlier_in_utc(
    cal: Calendar,
) -> None:
    assert add_working_days(at("Fri 2026-03-27 09:00 GMT"), 1, cal) == at(
        "Mon 2026-03-30 16:00 UTC"
    )
    assert add_working_days(at("Fri 2026-10-23 09:00 BST"), 1, cal) == at(
        "Mon 2026-10-26 17:00 UTC"
    )


@pytest.mark.parametrize("days", [0, -1, True, 1.5])
def test_add_working_days_refuses_a_count_below_one(cal: Calendar, days: int) -> None:
    with pytest.raises(ValueError, match="days must be"):
        add_working_days(at("Mon 2026-03-02 09:00 GMT"), days, cal)


# --- weekend Christmas in 2021 and 2022 (outside the fixture's years) -------------------------

EARLIER_CHRISTMAS_ROWS = [
    # 2021: Sat 25, Sun 26; observed Mon 27 and Tue 28
    ("Fri 2021-12-24 09:00 GMT", 1, "Wed 2021-12-29 17:00 GMT", "Christmas 2021 on Saturday"),
    # 2022: New Year's Day Sat 1 Jan, observed Mon 3 Jan
    ("Fri 2021-12-31 09:00 GMT", 1, "Tue 2022-01-04 17:00 GMT", "New Year 2022 on Saturday"),
    # 2022: Sun 25; Boxing Day Mon 26, Christmas observed Tue 27
    ("Fri 2022-12-23 09:00 GMT", 1, "Wed 2022-12-28 17:00 GMT", "Christmas 2022 on Sunday"),
    # 2022: the state funeral of Queen Elizabeth II, Monday 19 September
    ("Fri 2022-09-16 09:00 BST", 1, "Tue 2022-09-20 17:00 BST", "state funeral 2022"),
]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        pytest.param(s, d, e, id=f"{note}: {s} + {d} -> {e}")
        for s, d, e, note in EARLIER_CHRISTMAS_ROWS
    ],
)
def test_add_working_days_in_2021_and_2022(start: str, days: int, expected: str) -> None:
    cal = make_calendar(years=range(2021, 2023))
    assert add_working_days(at(start), days, cal) == at(expected)


# --- local closures and another end of day ----------------------------------------------------

CLOSURE_ROWS = [
    ("Mon 2026-03-02 09:00 GMT", 5, "Tue 2026-03-10 17:00 GMT", "training day Wed 4 March"),
    ("Tue 2026-03-03 09:00 GMT", 1, "Thu 2026-03-05 17:00 GMT", "next day is the training day"),
    ("Wed 2026-03-04 09:00 GMT", 1, "Thu 2026-03-05 17:00 GMT", "start on the training day"),
    (
        "Fri 2026-03-13 09:00 GMT",
        1,
        "Mon 2026-03-16 17:00 GMT",
        "a Saturday closure changes nothing",
    ),
    (
        "Thu 2026-12-24 09:00 GMT",
        1,
        "Mon 2027-01-04 17:00 GMT",
        "shut between Christmas and New Year",
    ),
]


@pytest.fixture(scope="module")
def closed_cal() -> Calendar:
    return make_calendar(
        years=YEARS,
        extra_closures=[
            date(2026, 3, 4),
            date(2026, 3, 14),
            date(2026, 12, 29),
            date(2026, 12, 30),
            date(2026, 12, 31),
        ],
    )


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [pytest.param(s, d, e, id=f"{note}: {s} + {d} -> {e}") for s, d, e, note in CLOSURE_ROWS],
)
def test_local_closure_days_are_not_working_days(
    closed_cal: Calendar, start: str, days: int, expected: str
) -> None:
    assert add_working_days(at(start), days, closed_cal) == at(expected)


END_OF_DAY_ROWS = [
    ("Mon 2026-03-02 09:00 GMT", 1, "Tue 2026-03-03 16:30 GMT", "plain"),
    ("Mon 2026-03-02 16:45 GMT", 1, "Tue 2026-03-03 16:30 GMT", "start after the end of day"),
    ("Fri 2026-03-27 09:00 GMT", 1, "Mon 2026-03-30 16:30 BST", "GMT to BST"),
    ("Fri 2026-10-23 09:00 BST", 1, "Mon 2026-10-26 16:30 GMT", "BST to GMT"),
]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [pytest.param(s, d, e, id=f"{note}: {s} + {d} -> {e}") for s, d, e, note in END_OF_DAY_ROWS],
)
def test_a_working_day_can_end_at_another_time(start: str, days: int, expected: str) -> None:
    cal = make_calendar(years=YEARS, end_of_day=time(16, 30))
    assert add_working_days(at(start), days, cal) == at(expected)


def test_a_calendar_in_another_timezone_counts_its_own_days() -> None:
    cal = make_calendar(years=YEARS, timezone="Pacific/Auckland", end_of_day=time(17, 0))
    # Monday 2 March 2026 21:00 UTC is already Tuesday 10:00 in Auckland (NZDT, UTC+13).
    due = add_working_days(datetime(2026, 3, 2, 21, 0, tzinfo=UTC), 1, cal)
    assert due == datetime(2026, 3, 4, 17, 0, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert to_local(due, cal).tzinfo == ZoneInfo("Pacific/Auckland")


# --- clock hours ------------------------------------------------------------------------------

HOUR_ROWS = [
    ("Mon 2026-03-02 09:00 GMT", 48, "Wed 2026-03-04 09:00 GMT", "plain"),
    ("Fri 2026-03-06 15:00 GMT", 24, "Sat 2026-03-07 15:00 GMT", "hours run over weekends"),
    ("Fri 2026-04-03 10:00 BST", 24, "Sat 2026-04-04 10:00 BST", "and over bank holidays"),
    ("Sat 2026-03-28 12:00 GMT", 48, "Mon 2026-03-30 13:00 BST", "GMT to BST: 48 real hours"),
    ("Sat 2026-03-28 09:00 GMT", 24, "Sun 2026-03-29 10:00 BST", "GMT to BST: 24 real hours"),
    ("Sat 2026-10-24 12:00 BST", 48, "Mon 2026-10-26 11:00 GMT", "BST to GMT: 48 real hours"),
    ("Sun 2026-10-25 00:30 BST", 1, "Sun 2026-10-25 01:30 BST", "into the repeated hour"),
    ("Sun 2026-10-25 00:30 BST", 2, "Sun 2026-10-25 01:30 GMT", "through the repeated hour"),
]


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [pytest.param(s, h, e, id=f"{note}: {s} + {h}h -> {e}") for s, h, e, note in HOUR_ROWS],
)
def test_add_hours_counts_real_hours(start: str, hours: int, expected: str) -> None:
    due = add_hours(at(start), hours)
    assert due == at(expected)
    assert due.tzinfo is UTC
    assert due - at(start) == timedelta(hours=hours)


def test_48_hours_across_the_spring_change_is_49_hours_on_the_wall_clock() -> None:
    start = at("Sat 2026-03-28 12:00 GMT")
    wall_clock = add_hours(start, 48).astimezone(LONDON).replace(tzinfo=None)
    assert wall_clock - start.astimezone(LONDON).replace(tzinfo=None) == timedelta(hours=49)


def test_48_hours_across_the_autumn_change_is_47_hours_on_the_wall_clock() -> None:
    start = at("Sat 2026-10-24 12:00 BST")
    wall_clock = add_hours(start, 48).astimezone(LONDON).replace(tzinfo=None)
    assert wall_clock - start.astimezone(LONDON).replace(tzinfo=None) == timedelta(hours=47)


# --- deadline ---------------------------------------------------------------------------------

DEADLINE_ROWS = [
    ("Mon 2026-03-30 09:00 BST", "5 working days", "Wed 2026-04-08 17:00 BST"),
    ("Fri 2026-03-27 09:00 GMT", "1 working day", "Mon 2026-03-30 17:00 BST"),
    ("Sat 2026-03-28 12:00 GMT", "48 hours", "Mon 2026-03-30 13:00 BST"),
    ("Mon 2026-03-02 09:00 GMT", "24 hours", "Tue 2026-03-03 09:00 GMT"),
]


@pytest.mark.parametrize(
    ("start", "timescale", "expected"),
    [pytest.param(s, t, e, id=f"{s} + {t} -> {e}") for s, t, e in DEADLINE_ROWS],
)
def test_deadline_follows_the_timescale_unit(
    cal: Calendar, start: str, timescale: str, expected: str
) -> None:
    assert deadline(at(start), parse_timescale(timescale), cal) == at(expected)


# --- parse_timescale --------------------------------------------------------------------------

GOOD_TIMESCALES = [
    ("5 working days", 5, "working_days", "5 working days"),
    ("1 working day", 1, "working_days", "1 working day"),
    ("48 hours", 48, "hours", "48 hours"),
    ("1 hour", 1, "hours", "1 hour"),
    ("  10 Working Days  ", 10, "working_days", "10 working days"),
    ("72 HOURS", 72, "hours", "72 hours"),
    ("2 working  days", 2, "working_days", "2 working days"),
    ("365 working days", 365, "working_days", "365 working days"),
    ("8760 hours", 8760, "hours", "8760 hours"),
]


@pytest.mark.parametrize(("text", "amount", "unit", "spelled"), GOOD_TIMESCALES)
def test_parse_timescale_reads_working_days_and_hours(
    text: str, amount: int, unit: str, spelled: str
) -> None:
    timescale = parse_timescale(text)
    assert timescale == Timescale(amount, unit)
    assert str(timescale) == spelled
    assert parse_timescale(str(timescale)) == timescale


BAD_TIMESCALES = [
    "",
    "   ",
    "five working days",
    "5 days",
    "5",
    "working days",
    "24h",
    "5 working days please",
    "-1 hours",
    "1.5 hours",
    "5 calendar days",
    "0 working days",
    "0 hours",
    "366 working days",
    "8761 hours",
]


@pytest.mark.parametrize("text", BAD_TIMESCALES)
def test_parse_timescale_refuses_other_text_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="timescale") as caught:
        parse_timescale(text)
    assert f"'{text}'" in str(caught.value)


def test_an_unreadable_timescale_says_how_to_write_it() -> None:
    with pytest.raises(ValueError) as caught:
        parse_timescale("a fortnight")
    assert str(caught.value) == (
        "cannot read timescale 'a fortnight': write it as 'N working days' or 'N hours'"
    )


@pytest.mark.parametrize(
    ("amount", "unit"), [(0, "hours"), (-3, "working_days"), (5, "days"), (366, "working_days")]
)
def test_a_timescale_cannot_be_built_out_of_range(amount: int, unit: str) -> None:
    with pytest.raises(ValueError, match="timescale"):
        Timescale(amount, unit)


# --- parse_lead_time --------------------------------------------------------------------------

GOOD_LEAD_TIMES = [
    ("1 working day", LeadTime("working_days", 1), "1 working day"),
    ("2 Working Days", LeadTime("working_days", 2), "2 working days"),
    ("4 hours", LeadTime("hours", 4), "4 hours"),
    ("1 hour", LeadTime("hours", 1), "1 hour"),
    ("25%", LeadTime("share", 0.25), "25%"),
    (" 12.5 % ", LeadTime("share", 0.125), "12.5%"),
    ("99%", LeadTime("share", 0.99), "99%"),
]


@pytest.mark.parametrize(("text", "lead", "spelled"), GOOD_LEAD_TIMES)
def test_parse_lead_time_reads_days_hours_and_shares(
    text: str, lead: LeadTime, spelled: str
) -> None:
    assert parse_lead_time(text) == lead
    assert str(lead) == spelled


BAD_LEAD_TIMES = ["", "soon", "1 day", "25", "%", "0 hours", "0%", "100%", "150%", "-5%", "1/4"]


@pytest.mark.parametrize("text", BAD_LEAD_TIMES)
def test_parse_lead_time_refuses_other_text_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="lead time") as caught:
        parse_lead_time(text)
    assert f"'{text}'" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "amount"), [("share", 0), ("share", 1), ("hours", 1.5), ("minutes", 5), ("hours", 0)]
)
def test_a_lead_time_cannot_be_built_out_of_range(kind: str, amount: float) -> None:
    with pytest.raises(ValueError, match="lead time"):
        LeadTime(kind, amount)


# --- naive datetimes --------------------------------------------------------------------------

NAIVE = datetime(2026, 3, 2, 9, 0)
AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
CALLS: list[tuple[str, Callable[[Calendar], object]]] = [
    ("add_working_days", lambda c: add_working_days(NAIVE, 5, c)),
    ("add_hours", lambda c: add_hours(NAIVE, 48)),
    ("deadline in days", lambda c: deadline(NAIVE, Timescale(5, "working_days"), c)),
    ("deadline in hours", lambda c: deadline(NAIVE, Timescale(48, "hours"), c)),
    ("warning_time start", lambda c: warning_time(NAIVE, LATER, LeadTime("hours", 4), c)),
    ("warning_time due", lambda c: warning_time(AWARE, NAIVE, LeadTime("share", 0.5), c)),
    ("working_days_between start", lambda c: working_days_between(NAIVE, LATER, c)),
    ("working_days_between end", lambda c: working_days_between(AWARE, NAIVE, c)),
    ("to_local", lambda c: to_local(NAIVE, c)),
]


@pytest.mark.parametrize("call", [pytest.param(f, id=name) for name, f in CALLS])
def test_naive_datetimes_are_refused(cal: Calendar, call: Callable[[Calendar], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(cal)


# --- warning_time -----------------------------------------------------------------------------

# start                  | due                      | warn before    | warning at
WARNING_TABLE = """
# working days: the same wall-clock time N working days before the deadline
Mon 2026-03-02 09:00 GMT | Mon 2026-03-09 17:00 GMT | 1 working day  | Fri 2026-03-06 17:00 GMT
# stepping back over Good Friday and Easter Monday
Mon 2026-03-30 09:00 BST | Wed 2026-04-08 17:00 BST | 2 working days | Thu 2026-04-02 17:00 BST
# stepping back over the spring clock change keeps 17:00 local
Mon 2026-03-23 09:00 GMT | Mon 2026-03-30 17:00 BST | 1 working day  | Fri 2026-03-27 17:00 GMT
# an hours deadline falling on a Saturday: the working day before, same time
Thu 2026-03-05 10:00 GMT | Sat 2026-03-07 10:00 GMT | 1 working day  | Fri 2026-03-06 10:00 GMT
# never before the start
Mon 2026-03-02 09:00 GMT | Tue 2026-03-03 17:00 GMT | 2 working days | Mon 2026-03-02 09:00 GMT
# hours: due minus N real hours
Mon 2026-03-02 09:00 GMT | Wed 2026-03-04 09:00 GMT | 4 hours        | Wed 2026-03-04 05:00 GMT
Sat 2026-03-28 12:00 GMT | Mon 2026-03-30 13:00 BST | 36 hours       | Sun 2026-03-29 00:00 GMT
Mon 2026-03-02 09:00 GMT | Wed 2026-03-04 09:00 GMT | 72 hours       | Mon 2026-03-02 09:00 GMT
# share: due minus that share of the real time allowed
Mon 2026-03-02 09:00 GMT | Wed 2026-03-04 09:00 GMT | 25%            | Tue 2026-03-03 21:00 GMT
Mon 2026-03-02 09:00 GMT | Mon 2026-03-09 17:00 GMT | 50%            | Fri 2026-03-06 01:00 GMT
Sat 2026-03-28 12:00 GMT | Mon 2026-03-30 13:00 BST | 50%            | Sun 2026-03-29 13:00 BST
"""
WARNING_ROWS = [
    tuple(cell.strip() for cell in line.split("|"))
    for line in WARNING_TABLE.strip().splitlines()
    if not line.startswith("#")
]


@pytest.mark.parametrize(
    ("start", "due", "lead", "expected"),
    [pytest.param(*row, id=f"{row[2]} before {row[1]} -> {row[3]}") for row in WARNING_ROWS],
)
def test_warning_time(cal: Calendar, start: str, due: str, lead: str, expected: str) -> None:
    warn = warning_time(at(start), at(due), parse_lead_time(lead), cal)
    assert warn == at(expected)
    assert warn.tzinfo is UTC


def test_warning_time_measures_real_hours_when_start_and_due_share_a_zone(cal: Calendar) -> None:
    start = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)  # Saturday, GMT
    due = datetime(2026, 3, 30, 13, 0, tzinfo=LONDON)  # Monday, BST: 48 real hours later
    half = warning_time(start, due, LeadTime("share", 0.5), cal)
    assert half == datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # 24 real hours after the start
    assert warning_time(start, due, LeadTime("hours", 4), cal) == datetime(
        2026, 3, 30, 8, 0, tzinfo=UTC
    )
    # One working day back is Friday 13:00, before the start, so the warning falls at the start.
    one_day = warning_time(start, due, LeadTime("working_days", 1), cal)
    assert one_day == datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


# --- working_days_between ---------------------------------------------------------------------

BETWEEN_ROWS = [
    ("Mon 2026-03-02 09:00 GMT", "Mon 2026-03-02 17:00 GMT", 0, "same day"),
    ("Mon 2026-03-09 09:00 GMT", "Mon 2026-03-02 17:00 GMT", 0, "end before start"),
    ("Mon 2026-03-02 17:00 GMT", "Tue 2026-03-03 08:00 GMT", 1, "overnight"),
    ("Mon 2026-03-02 09:00 GMT", "Mon 2026-03-09 17:00 GMT", 5, "a week"),
    ("Fri 2026-03-06 18:00 GMT", "Mon 2026-03-09 09:00 GMT", 1, "over a weekend"),
    ("Fri 2026-03-06 18:00 GMT", "Sun 2026-03-08 09:00 GMT", 0, "into a weekend"),
    ("Thu 2026-04-02 09:00 BST", "Tue 2026-04-07 09:00 BST", 1, "over Easter"),
    ("Wed 2026-12-23 09:00 GMT", "Mon 2027-01-04 17:00 GMT", 5, "over Christmas 2026"),
    ("Wed 2025-12-31 12:00 GMT", "Thu 2026-12-31 12:00 GMT", 253, "all of 2026: 261 - 8"),
    ("Mon 2026-06-01 23:30 UTC", "Tue 2026-06-02 16:00 UTC", 0, "both on London's Tuesday"),
]


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [pytest.param(s, e, n, id=f"{note}: {s} .. {e} = {n}") for s, e, n, note in BETWEEN_ROWS],
)
def test_working_days_between(cal: Calendar, start: str, end: str, count: int) -> None:
    assert working_days_between(at(start), at(end), cal) == count


# --- the calendar itself ----------------------------------------------------------------------


def test_the_calendar_holds_nominal_and_observed_bank_holidays(cal: Calendar) -> None:
    assert cal.timezone == LONDON
    assert cal.end_of_day == time(17, 0)
    assert {
        date(2027, 12, 25),
        date(2027, 12, 26),
        date(2027, 12, 27),
        date(2027, 12, 28),
    } <= cal.closures
    assert {
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 8, 31),
        date(2026, 12, 28),
    } <= cal.closures
    assert not cal.is_working_day(date(2026, 4, 3))  # Good Friday
    assert not cal.is_working_day(date(2026, 3, 7))  # Saturday
    assert cal.is_working_day(date(2026, 4, 7))
    assert cal.is_working_day(date(2026, 1, 2))  # a Scottish holiday only


def test_another_region_has_its_own_bank_holidays() -> None:
    scotland = make_calendar(region="SCT", years=[2026])
    assert not scotland.is_working_day(date(2026, 1, 2))
    assert not scotland.is_working_day(date(2026, 11, 30))  # St Andrew's Day
    assert scotland.is_working_day(date(2026, 4, 6))  # no Easter Monday


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "XYZ"}, "unknown bank-holiday region 'XYZ'"),
        ({"timezone": "Europe/Atlantis"}, "unknown timezone 'Europe/Atlantis'"),
        ({"timezone": "../etc"}, "unknown timezone"),
        ({"years": []}, "at least one year"),
        ({"extra_closures": ["2026-03-04"]}, "closure days must be dates"),
        ({"extra_closures": [datetime(2026, 3, 4, tzinfo=UTC)]}, "closure days must be dates"),
        ({"end_of_day": time(17, 0, tzinfo=UTC)}, "end_of_day"),
    ],
)
def test_make_calendar_refuses_bad_settings(kwargs: dict[str, object], message: str) -> None:
    settings_ = {"years": [2026], **kwargs}
    with pytest.raises(ValueError, match=message):
        make_calendar(**settings_)  # type: ignore[arg-type]


def test_bank_holiday_data_covers_next_year() -> None:
    """Fail once the installed `holidays` package no longer knows next year's bank holidays."""
    next_year = datetime.now(UTC).year + 1
    cal = make_calendar(years=[next_year])
    in_year = {day for day in cal.closures if day.year == next_year}
    on_weekdays = {day for day in in_year if day.weekday() < 5}
    assert len(on_weekdays) >= 8, sorted(in_year)
    assert {date(next_year, 1, 1), date(next_year, 12, 25), date(next_year, 12, 26)} <= in_year
    months = sorted(day.month for day in on_weekdays)
    assert months.count(5) >= 2 and 8 in months, sorted(in_year)  # May Day, spring, late summer


# --- properties -------------------------------------------------------------------------------

PROPERTY_CAL = make_calendar(years=YEARS)
ZONES = [UTC, LONDON, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
aware_starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31, 23, 59),
    timezones=st.sampled_from(ZONES),
)


@settings(max_examples=300, database=None, deadline=None)
@given(start=aware_starts, days=st.integers(min_value=1, max_value=30))
def test_add_working_days_lands_at_the_end_of_a_working_day(start: datetime, days: int) -> None:
    cal = PROPERTY_CAL
    due = add_working_days(start, days, cal)
    local = to_local(due, cal)
    assert cal.is_working_day(local.date())
    assert local.time() == cal.end_of_day
    assert due > start
    assert working_days_between(start, due, cal) == days


@settings(max_examples=200, database=None, deadline=None)
@given(start=aware_starts, span=st.integers(min_value=0, max_value=400))
def test_working_days_between_matches_counting_day_by_day(start: datetime, span: int) -> None:
    cal = PROPERTY_CAL
    end = start + timedelta(days=span, hours=7)
    first, last = to_local(start, cal).date(), to_local(end, cal).date()
    slow = sum(
        1
        for n in range(1, (last - first).days + 1)
        if cal.is_working_day(first + timedelta(days=n))
    )
    assert working_days_between(start, end, cal) == slow


@settings(max_examples=200, database=None, deadline=None)
@given(
    start=aware_starts,
    timescale=st.sampled_from(["1 working day", "5 working days", "24 hours", "72 hours"]),
    lead=st.sampled_from(["1 working day", "3 working days", "4 hours", "25%", "90%"]),
)
def test_the_warning_falls_between_start_and_deadline(
    start: datetime, timescale: str, lead: str
) -> None:
    cal = PROPERTY_CAL
    due = deadline(start, parse_timescale(timescale), cal)
    warn = warning_time(start, due, parse_lead_time(lead), cal)
    assert start <= warn <= due


def test_the_financial_year_runs_from_april_to_march() -> None:
    from datetime import date

    from resolution.domain.calendar import financial_year

    year = (date(2026, 4, 1), date(2027, 3, 31))
    assert financial_year(date(2026, 4, 1)) == year
    assert financial_year(date(2026, 12, 1)) == year
    assert financial_year(date(2027, 3, 31)) == year
    assert financial_year(date(2026, 3, 31)) == (date(2025, 4, 1), date(2026, 3, 31))
