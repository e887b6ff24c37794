"""Timescales agreed between the parties: proposed by one, accepted or declined (with a
reason, the proposer told) by a party of another agency; `rules` says who may do each.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.calendar import warning_time
from ..models import Case
from . import notify
from .changes import change_case, checked_text, future, set_clock
from .core import Context
from .errors import Conflict, Forbidden, Invalid
from .loading import proposal_of


def decline_timescale(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Decline the timescale proposed at the current level: the due date stays as it was."""
    reason_text = checked_text(reason, "reason", rules.MAX_REASON)
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        step, definition, actor = change.step, change.definition, change.actor
        proposal, proposer = proposal_of(step), step.proposed_by
        if proposal is None or proposer is None or step.proposed_due_at is None:
            raise Conflict("no timescale has been proposed at this level")
        if not rules.may_decline(change.who, change.access, definition, proposal):
            raise Forbidden(
                "a timescale is declined by a party from another agency than the proposer's"
            )
        step.timescale_status = "declined"
        step.declined_by, step.declined_at, step.declined_reason = actor, ctx.now, reason_text
        change.done(
            "timescale_declined",
            {
                "step": step.number,
                "due_at": step.proposed_due_at.isoformat(),
                "proposed_by": proposer.email,
                "reason": reason_text,
            },
        )
        change.tell_person(
            proposer,
            kind="timescale_declined",
            subject="the timescale you proposed was declined",
            happened=(
                f"{actor.name} ({actor.agency.name}) declined the timescale you proposed on case "
                f"{change.case.reference} (due {notify.when(step.proposed_due_at, definition)}); "
                "their reason is on the case."
            ),
            expected=(
                "talk it through and propose another timescale, or keep to the current one: "
                f"due {notify.when(step.due_at, definition)}."
            ),
        )
    return change.case


def propose_timescale(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    due_at: datetime,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Propose when the current level should be decided by."""
    reason_text = checked_text(reason, "reason", rules.MAX_REASON)
    future(due_at, "due_at", ctx.now)
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        if not change.definition.agreed_between_parties:
            raise Conflict(
                "this process sets its timescales: they are not agreed between the parties"
            )
        if not rules.may_propose(change.who, change.access, change.definition):
            raise Forbidden("only the parties propose a timescale")
        definition, actor = change.definition, change.actor
        problem = rules.due_day_problem(due_at, definition.calendar)
        if problem:
            raise Invalid.field("due_at", problem)
        step = change.step
        step.timescale_status = "proposed"
        step.proposed_due_at = due_at
        step.proposed_by = actor
        step.proposed_reason = reason_text
        step.declined_by = step.declined_at = step.declined_reason = None
        change.done(
            "timescale_proposed",
            {"step": step.number, "due_at": due_at.isoformat(), "reason": reason_text},
        )
        change.tell(
            "timescale_proposed",
            subject="a timescale has been proposed: accept or decline it",
            happened=(
                f"{actor.name} ({actor.agency.name}) proposed that case {change.case.reference} "
                f"is decided by {notify.when(due_at, definition)}."
            ),
            expected=(
                "someone from another agency than the proposer's accepts it, or declines it "
                "with a reason, on the case."
            ),
        )
    return change.case


def accept_timescale(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    expected_version: int | None = None,
) -> Case:
    """Accept the proposed timescale: a party of another agency than the proposer's."""
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        step, definition, actor = change.step, change.definition, change.actor
        proposer, due, proposal = step.proposed_by, step.proposed_due_at, proposal_of(step)
        if proposal is None or proposer is None or due is None:
            raise Conflict("no timescale has been proposed at this level")
        if not rules.may_write(change.who, change.access, definition):
            raise Forbidden("only the parties accept a timescale")
        if due <= ctx.now:
            raise Conflict("the proposed date has passed: propose a new one")
        if not rules.may_accept(change.who, change.access, definition, proposal, ctx.now):
            raise Forbidden(
                "a timescale is agreed by a party from another agency than the proposer's"
            )
        step.due_at = due
        step.warn_at = warning_time(
            step.started_at, due, definition.warn_before, definition.calendar
        )
        step.overdue_at = step.due_soon_at = None
        step.timescale_status = "agreed"
        step.agreed_by, step.agreed_proposer, step.agreed_at = actor, proposer, ctx.now
        step.agreed_reason = step.proposed_reason
        step.proposed_due_at = step.proposed_by = step.proposed_reason = None
        set_clock(change.case, step)
        change.done(
            "timescale_agreed",
            {
                "step": step.number,
                "due_at": due.isoformat(),
                "agreed_by": [proposer.email, actor.email],
                "reason": step.agreed_reason,
            },
        )
    return change.case
