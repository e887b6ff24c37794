"""A proposed timescale declined by the other side, with a reason; the proposer is told.

Proposing and accepting are in `cases`; who may decline is `rules.may_decline`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..domain import rules
from ..models import Case
from . import notify
from .changes import change_case, checked_text
from .core import Context
from .errors import Conflict, Forbidden
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
