"""Where a step stands on its clock, and which timescale applies to it and why.

One answer for every door: the case page, the lists, the API and the e-mails all ask
here. The SQL filters of the lists and the sweep (services.clocks.overdue_clause,
due_soon_clause and open_action_clause) are the same comparisons written for the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .calendar import Calendar, Timescale, working_days_between
from .definitions import Definition

DEFAULT, URGENT, PROPOSED, AGREED = "default", "urgent", "proposed", "agreed"
DECLINED = "declined"


@dataclass(frozen=True)
class StepStatus:
    """A step's standing at one instant."""

    overdue: bool  # open, and its deadline has passed
    due_soon: bool  # open, not overdue, and its warning time has passed
    went_overdue: bool  # it passed its deadline at some point, open or ended


def step_status(
    *,
    due_at: datetime,
    warn_at: datetime,
    ended_at: datetime | None,
    now: datetime,
    flagged: bool = False,
) -> StepStatus:
    """Return where a step stands at `now`; `flagged`: the sweep has flagged it overdue."""
    is_open = ended_at is None
    overdue = is_open and due_at < now
    return StepStatus(
        overdue=overdue,
        due_soon=is_open and not overdue and warn_at <= now,
        went_overdue=flagged or overdue or (ended_at is not None and ended_at > due_at),
    )


def working_days_overdue(due_at: datetime, now: datetime, calendar: Calendar) -> int | None:
    """Return how many working days of the calendar an open step is past its deadline at
    `now` (0: less than one), or None when it is not overdue (the same test as `step_status`)."""
    if not due_at < now:
        return None
    return working_days_between(due_at, now, calendar)


# Who acts at a level, in words, by the roles a definition names.
ACTING_WORDS = {
    "practitioner": "practitioners",
    "manager": "first-line managers",
    "lead": "designated leads",
    "partnership": "the partnership",
}


def who_acts(definition: Definition, level_key: str) -> str:
    """Return, in words, who acts at a level of a definition: e.g. 'first-line managers'."""
    roles = [ACTING_WORDS.get(role, role) for role in definition.level(level_key).acts]
    return " and ".join(roles)


def action_open(*, done_at: datetime | None, withdrawn_at: datetime | None) -> bool:
    """Say whether an agreed action is still open: neither marked done nor withdrawn."""
    return done_at is None and withdrawn_at is None


def action_overdue(
    *, due_at: datetime, done_at: datetime | None, withdrawn_at: datetime | None, now: datetime
) -> bool:
    """Say whether an agreed action is overdue at `now`: open, and its deadline has passed
    (a step's rule); one done or withdrawn is never overdue."""
    return action_open(done_at=done_at, withdrawn_at=withdrawn_at) and due_at < now


@dataclass(frozen=True)
class TimescaleBasis:
    """The timescale the process sets for a level of a case, and why."""

    timescale: Timescale
    why: str  # DEFAULT: the level's own; URGENT: the urgent route's shorter clock

    def __str__(self) -> str:
        if self.why == URGENT:
            return f"{self.timescale}, the urgent route's clock for a child at immediate risk"
        return f"{self.timescale}, as the process sets it"


def timescale_for(definition: Definition, level_key: str, urgent: bool) -> TimescaleBasis:
    """Return the timescale the definition sets for a level of a case (urgent or not)."""
    if urgent and definition.urgent is not None:
        return TimescaleBasis(definition.urgent.timescale, URGENT)
    return TimescaleBasis(definition.level(level_key).timescale, DEFAULT)


def is_urgent(definition: Definition, level_key: str, urgent: bool) -> bool:
    """Whether a case at a level runs on the urgent route's clock: `timescale_for`'s answer,
    which every door shows as "urgent" (a closed case is asked about the level it closed at)."""
    return timescale_for(definition, level_key, urgent).why == URGENT
