"""Where a step stands on its clock, and which timescale applies to it and why.

One answer for every door: the case page, the lists, the API and the e-mails all ask
here. The SQL filters of the lists and the sweep (services.clocks.overdue_clause and
due_soon_clause) are the same comparisons written for the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .calendar import Timescale
from .definitions import Definition

DEFAULT, URGENT, PROPOSED, AGREED = "default", "urgent", "proposed", "agreed"


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
