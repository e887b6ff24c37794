"""Deadline arithmetic on the partnership's working calendar.

Everything here is pure: the current time is always passed in, never read.
Every datetime going in must be timezone-aware; every datetime coming out is
aware, in UTC. Working days are weekdays that are neither bank holidays nor
local closure days; a working-day deadline falls at the local end of the day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "Calendar",
    "LeadTime",
    "Timescale",
    "add_hours",
    "add_working_days",
    "deadline",
    "make_calendar",
    "next_working_day",
    "parse_lead_time",
    "parse_timescale",
    "to_local",
    "warning_time",
    "working_days_between",
]

WORKING_DAYS = "working_days"
HOURS = "hours"
SHARE = "share"

MAX_WORKING_DAYS = 365
MAX_HOURS = 8760

_UNIT_WORDS = {WORKING_DAYS: ("working day", "working days"), HOURS: ("hour", "hours")}
_LIMITS = {WORKING_DAYS: MAX_WORKING_DAYS, HOURS: MAX_HOURS}

# "5 working days", "1 working day", "48 hours", "1 hour" (any case, any inner spacing).
_AMOUNT_RE = re.compile(r"([0-9]+)\s+(working\s+days?|hours?)", re.IGNORECASE | re.ASCII)
# "25%", "12.5 %".
_SHARE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*%", re.ASCII)


def _require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime, naming the offending parameter."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def _unit_label(amount: float, unit: str) -> str:
    """Spell an amount with its unit, singular or plural."""
    singular, plural = _UNIT_WORDS[unit]
    return f"{amount:g} {singular if amount == 1 else plural}"


def _read_amount(text: str) -> tuple[int, str] | None:
    """Split 'N working days' or 'N hours' into amount and unit, or return None."""
    match = _AMOUNT_RE.fullmatch(text.strip())
    if match is None:
        return None
    unit = WORKING_DAYS if match.group(2).lower().startswith("working") else HOURS
    return int(match.group(1)), unit


@dataclass(frozen=True)
class Timescale:
    """How long a step has: a number of working days or of clock hours."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        """Refuse units other than working days or hours and amounts out of range."""
        if self.unit not in _LIMITS:
            raise ValueError(
                f"timescale unit must be '{WORKING_DAYS}' or '{HOURS}', not '{self.unit}'"
            )
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"timescale amount must be a whole number, not {self.amount!r}")
        limit = _LIMITS[self.unit]
        if not 1 <= self.amount <= limit:
            raise ValueError(
                f"timescale amount must be between 1 and {_unit_label(limit, self.unit)}, "
                f"not {self.amount}"
            )

    def __str__(self) -> str:
        """Spell the timescale as people write it, e.g. '5 working days'."""
        return _unit_label(self.amount, self.unit)


def parse_timescale(text: str) -> Timescale:
    """Read a timescale written as 'N working days' or 'N hours'."""
    parsed = _read_amount(text) if isinstance(text, str) else None
    if parsed is None:
        raise ValueError(
            f"cannot read timescale '{text}': write it as 'N working days' or 'N hours'"
        )
    amount, unit = parsed
    limit = _LIMITS[unit]
    if not 1 <= amount <= limit:
        raise ValueError(f"timescale '{text}' is out of range: use 1 to {_unit_label(limit, unit)}")
    return Timescale(amount, unit)


@dataclass(frozen=True)
class LeadTime:
    """How long before a deadline the 'due soon' warning falls."""

    kind: str
    amount: float

    def __post_init__(self) -> None:
        """Refuse unknown kinds and amounts out of range for the kind."""
        if self.kind not in (WORKING_DAYS, HOURS, SHARE):
            raise ValueError(
                f"lead time kind must be '{WORKING_DAYS}', '{HOURS}' or '{SHARE}', "
                f"not '{self.kind}'"
            )
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float):
            raise ValueError(f"lead time amount must be a number, not {self.amount!r}")
        if self.kind == SHARE:
            if not 0 < self.amount < 1:
                raise ValueError(f"lead time share must be between 0 and 1, not {self.amount}")
        else:
            limit = _LIMITS[self.kind]
            if self.amount != int(self.amount) or not 1 <= self.amount <= limit:
                raise ValueError(
                    f"lead time must be a whole number from 1 to {_unit_label(limit, self.kind)}, "
                    f"not {self.amount}"
                )

    def __str__(self) -> str:
        """Spell the lead time as people write it, e.g. '1 working day' or '25%'."""
        if self.kind == SHARE:
            return f"{self.amount * 100:g}%"
        return _unit_label(self.amount, self.kind)


def parse_lead_time(text: str) -> LeadTime:
    """Read a warning lead time written as 'N working days', 'N hours' or 'P%'."""
    problem = (
        f"cannot read lead time '{text}': write it as 'N working days', 'N hours' "
        "or a percentage of the timescale such as '25%'"
    )
    if not isinstance(text, str):
        raise ValueError(problem)
    parsed = _read_amount(text)
    if parsed is not None:
        amount, unit = parsed
        limit = _LIMITS[unit]
        if not 1 <= amount <= limit:
            raise ValueError(
                f"lead time '{text}' is out of range: use 1 to {_unit_label(limit, unit)}"
            )
        return LeadTime(unit, amount)
    match = _SHARE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(problem)
    percent = float(match.group(1))
    if not 0 < percent < 100:
        raise ValueError(
            f"lead time '{text}' is out of range: use a percentage above 0% and below 100%"
        )
    return LeadTime(SHARE, percent / 100)


@dataclass(frozen=True)
class Calendar:
    """The days the partnership works and the local time its working day ends."""

    timezone: ZoneInfo
    end_of_day: time
    closures: frozenset[date]

    def __post_init__(self) -> None:
        """Refuse an end of day that carries its own timezone."""
        if self.end_of_day.tzinfo is not None:
            raise ValueError("end_of_day must be a local wall-clock time without a timezone")

    def is_working_day(self, day: date) -> bool:
        """Tell whether the partnership is open on a day: a weekday and not a closure."""
        return day.weekday() < 5 and day not in self.closures


@lru_cache(maxsize=32)
def _bank_holidays(region: str, years: tuple[int, ...]) -> frozenset[date]:
    """Look up UK bank holidays for a region, nominal dates and observed substitutes alike."""
    try:
        table = holidays.country_holidays("GB", subdiv=region, years=years)
    except NotImplementedError:
        raise ValueError(f"unknown bank-holiday region '{region}'") from None
    return frozenset(table.keys())


def make_calendar(
    *,
    region: str = "ENG",
    extra_closures: Iterable[date] = (),
    end_of_day: time = time(17, 0),
    timezone: str = "Europe/London",
    years: Iterable[int],
) -> Calendar:
    """Build a calendar from the region's bank holidays in `years` plus local closure days."""
    year_list = tuple(sorted(set(years)))
    if not year_list:
        raise ValueError("a calendar needs at least one year of bank holidays")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{timezone}'") from None
    closures: set[date] = set(_bank_holidays(region, year_list))
    for day in extra_closures:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"closure days must be dates, not {day!r}")
        closures.add(day)
    return Calendar(timezone=zone, end_of_day=end_of_day, closures=frozenset(closures))


def to_local(moment: datetime, cal: Calendar) -> datetime:
    """Return a moment as wall-clock time in the calendar's timezone."""
    _require_aware(moment, "moment")
    return moment.astimezone(cal.timezone)


def _end_of(day: date, cal: Calendar) -> datetime:
    """Return the end of the working day on a local date, in UTC."""
    return datetime.combine(day, cal.end_of_day, tzinfo=cal.timezone).astimezone(UTC)


def add_working_days(start: datetime, days: int, cal: Calendar) -> datetime:
    """Return the end of the `days`-th working day after the local date of `start`, in UTC."""
    _require_aware(start, "start")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, not {days!r}")
    day = to_local(start, cal).date()
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if cal.is_working_day(day):
            remaining -= 1
    return _end_of(day, cal)


def add_hours(start: datetime, hours: int) -> datetime:
    """Return the moment `hours` clock hours after `start`, in UTC."""
    _require_aware(start, "start")
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise ValueError(f"hours must be a whole number, not {hours!r}")
    return start.astimezone(UTC) + timedelta(hours=hours)


def deadline(start: datetime, timescale: Timescale, cal: Calendar) -> datetime:
    """Return when a step started at `start` with `timescale` falls due, in UTC."""
    if timescale.unit == WORKING_DAYS:
        return add_working_days(start, timescale.amount, cal)
    return add_hours(start, timescale.amount)


def warning_time(start: datetime, due: datetime, lead: LeadTime, cal: Calendar) -> datetime:
    """Return when the 'due soon' warning falls, never earlier than `start`, in UTC."""
    _require_aware(start, "start")
    _require_aware(due, "due")
    if lead.kind == WORKING_DAYS:
        local_due = to_local(due, cal)
        day = local_due.date()
        remaining = int(lead.amount)
        while remaining:
            day -= timedelta(days=1)
            if cal.is_working_day(day):
                remaining -= 1
        warn = datetime.combine(day, local_due.time(), tzinfo=cal.timezone).astimezone(UTC)
    elif lead.kind == HOURS:
        warn = due.astimezone(UTC) - timedelta(hours=int(lead.amount))
    else:
        # Subtract in UTC: Python subtracts two datetimes sharing a tzinfo by wall clock.
        allowed = due.astimezone(UTC) - start.astimezone(UTC)
        warn = due.astimezone(UTC) - allowed * lead.amount
    return max(warn, start.astimezone(UTC))


def _weekdays_up_to(day: date) -> int:
    """Count the weekdays from a fixed Monday up to and including `day`."""
    ordinal = day.toordinal() - 1  # ordinal 1 (1 January 0001) is a Monday
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest + 1, 5)


def working_days_between(start: datetime, end: datetime, cal: Calendar) -> int:
    """Count the working days after start's local date up to and including end's local date."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    first = to_local(start, cal).date()
    last = to_local(end, cal).date()
    if last <= first:
        return 0
    weekdays = _weekdays_up_to(last) - _weekdays_up_to(first)
    closed = sum(1 for day in cal.closures if first < day <= last and day.weekday() < 5)
    return weekdays - closed


MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip


def next_working_day(day: date, cal: Calendar) -> date:
    """Return the first working day on or after `day`."""
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    return day


def spoken_day(day: date) -> str:
    """Return a day in GOV.UK style, e.g. '9 March 2026'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def spoken_time(moment: datetime, zone: ZoneInfo, with_time: bool = True) -> str:
    """Return an instant in GOV.UK style local time, e.g. '5pm on 9 March 2026'."""
    local = moment.astimezone(zone)
    day = spoken_day(local.date())
    if not with_time:
        return day
    if local.minute == 0 and local.hour in (0, 12):
        clock = "midnight" if local.hour == 0 else "midday"
    else:
        hour, half = local.hour % 12 or 12, "am" if local.hour < 12 else "pm"
        clock = f"{hour}{half}" if local.minute == 0 else f"{hour}:{local.minute:02d}{half}"
    return f"{clock} on {day}"


def financial_year(day: date) -> tuple[date, date]:
    """Return the first and last days of the financial year (1 April to 31 March) holding
    `day`: the period annual reports use."""
    first = day.year if day.month >= 4 else day.year - 1
    return date(first, 4, 1), date(first + 1, 3, 31)
