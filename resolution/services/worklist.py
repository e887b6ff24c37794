"""A user's own cases, grouped as the Your cases page shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.status import step_status
from ..models import Acknowledgement, Case, Record, User
from . import access, drafts
from .core import Context
from .drafts import DraftView
from .loading import access_of, actor_of, proposal_of
from .queries import own_cases, recently_closed

RECENTLY_CLOSED = 20


@dataclass(frozen=True)
class CaseRow:
    """A case as a list of them shows it, with why it may be waiting on the user."""

    id: int
    reference: str
    child_ref: str
    others: list[str]  # the other agencies' names
    level: str  # the level's words, or the outcome
    due: datetime | None = None
    overdue: bool = False
    due_soon: bool = False
    agreed: bool = False
    proposed: bool = False
    waiting: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class YourCases:
    waiting: list[CaseRow]
    overdue: list[CaseRow]
    due_soon: list[CaseRow]
    rest: list[CaseRow]
    closed: list[CaseRow]
    drafts: list[DraftView] = field(default_factory=list)  # disagreements not yet raised

    @property
    def open(self) -> int:
        return len(self.waiting) + len(self.overdue) + len(self.due_soon) + len(self.rest)


def _unread(session: Session, user: User, case_ids: list[int]) -> set[int]:
    """Return the cases among `case_ids` with a record by someone else the user has not read."""
    if not case_ids:
        return set()
    read = select(Acknowledgement.id).where(
        Acknowledgement.record_id == Record.id, Acknowledgement.user_id == user.id
    )
    return set(
        session.scalars(
            select(Record.case_id)
            .where(Record.case_id.in_(case_ids), Record.author_id != user.id, ~read.exists())
            .distinct()
        )
    )


def _row(ctx: Context, user: User, case: Case, unread: bool) -> CaseRow:
    definition = ctx.workflows.definition(case.workflow_key, case.workflow_version)
    step = case.current_step
    assert step is not None  # an open case always has one
    actor, access = actor_of(user), access_of(case)
    standing = step_status(
        due_at=step.due_at, warn_at=step.warn_at, ended_at=step.ended_at, now=ctx.now
    )
    waiting = []
    if rules.may_accept(actor, access, definition, proposal_of(step), ctx.now):
        waiting.append("a proposed timescale needs your answer")
    if rules.may_answer_closing(actor, access, definition):
        waiting.append("a proposed closing needs your answer")
    if unread and rules.may_acknowledge(actor, access, definition):
        waiting.append("a record you have not read")
    if user.role != "practitioner" and rules.acting_at_level(actor, access, definition):
        waiting.append(f"it is at your {definition.level_word}")
    return CaseRow(
        id=case.id,
        reference=case.reference,
        child_ref=case.child_ref,
        others=[ca.agency.name for ca in case.agencies if ca.agency_id != user.agency_id],
        level=definition.level_words(case.state),
        due=step.due_at,
        overdue=standing.overdue,
        due_soon=standing.due_soon,
        agreed=step.timescale_status == "agreed",
        proposed=step.timescale_status == "proposed",
        waiting=waiting,
    )


def your_cases(
    session: Session, ctx: Context, user: User, *, door: str, drafts_kept: timedelta | None = None
) -> YourCases:
    """Return the user's open cases: waiting on them, overdue, due soon, then the rest;
    the cases they may see that closed most recently; and, given how long drafts are
    kept, their own drafts. The read is written to the access log."""
    access.record_access(session, ctx, user, access.CASES_LISTED, "your cases", door)
    query = own_cases(user, ctx.workflows).where(Case.closed == false()).order_by(Case.id)
    open_cases = session.scalars(query).all()
    unread = _unread(session, user, [c.id for c in open_cases])
    groups: dict[str, list[CaseRow]] = {"waiting": [], "overdue": [], "due_soon": [], "rest": []}
    for case in open_cases:
        row = _row(ctx, user, case, case.id in unread)
        key = (
            "waiting"
            if row.waiting
            else "overdue"
            if row.overdue
            else "due_soon"
            if row.due_soon
            else "rest"
        )
        groups[key].append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: (r.due is None, r.due or ctx.now))
    own = user.agency.code
    closed = [
        CaseRow(
            id=c.id,
            reference=c.reference,
            child_ref=c.child_ref,
            others=[name for code, name in c.agencies if code != own],
            level=c.outcome_kind or "",
        )
        for c in recently_closed(session, ctx, user, RECENTLY_CLOSED)
    ]
    mine = drafts.drafts_of(session, ctx, user.id, drafts_kept) if drafts_kept else []
    return YourCases(**groups, closed=closed, drafts=mine)
