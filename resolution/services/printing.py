"""The whole written record of a case, for an agency's own file: read once, access-logged.

A print and a download are reads like any other (nothing changes, nothing is chained); each
is written to the access log with its own kind, and the page or PDF says who printed it and
when, and the digest of the case's last history event (the chain can prove it later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..domain import status
from ..models import AuditEvent, User
from . import access
from .core import Context
from .loading import visible_case
from .queries import history
from .views import CaseView, PersonView, StepView, case_view

CASE_PRINTED = "case_printed"  # the print page
RECORD_DOWNLOADED = "record_downloaded"  # the PDF


@dataclass(frozen=True)
class LevelOnPaper:
    """One level the case has been at, with the timescale it ran on."""

    number: int
    title: str
    started_at: datetime
    ended_at: datetime | None
    due_at: datetime
    timescale: str  # in words: the process's own, or agreed by whom
    went_overdue: bool


@dataclass(frozen=True)
class RecordOnPaper:
    """What a printed case carries."""

    case: CaseView
    levels: list[LevelOnPaper]
    last_event: AuditEvent | None  # the newest event of the case's history, with its digest
    printed_by: PersonView
    printed_at: datetime


def _timescale(step: StepView) -> str:
    """Return the timescale a level ran on, in words."""
    ts = step.timescale
    if ts.status == status.AGREED and ts.agreed_by:
        return f"agreed by {' and '.join(p.name for p in ts.agreed_by)}" + (
            f": {ts.reason}" if ts.reason else ""
        )
    if ts.status == status.PROPOSED and ts.proposed_by is not None:
        return f"{ts.basis}; another date proposed by {ts.proposed_by.name}, not yet agreed"
    return str(ts.basis)


def case_on_paper(
    session: Session, ctx: Context, user: User, case_id: int, *, what: str, door: str
) -> RecordOnPaper:
    """Return the whole record of a case the user may see, and write the read to the access
    log as `what` (a print or a download); a case they may not see does not exist."""
    case = visible_case(session, user, case_id)
    view = case_view(case, ctx.workflows, ctx.now, user=user, whole=True)
    events = history(session, ctx, case)
    levels = [
        LevelOnPaper(
            number=s.number,
            title=s.title,
            started_at=s.started_at,
            ended_at=s.ended_at,
            due_at=s.due_at,
            timescale=_timescale(s),
            went_overdue=s.went_overdue,
        )
        for s in view.steps
    ]
    access.record_access(session, ctx, user, what, case.reference, door)
    return RecordOnPaper(view, levels, events[-1] if events else None, PersonView.of(user), ctx.now)
