"""Closing a case: at once, or proposed until a party of another agency confirms or declines it.

A closing whose action `needs_agreement` at the case's level (the definition says so) is
kept on the case as proposed, the case staying at its level with its clock running; a
party of another agency involved (`rules.may_answer_closing`) confirms it, and the case
closes with the outcome proposed, or declines it with a reason, and the proposer is told.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.definitions import Action
from ..domain.machines import ActionNotAllowed
from ..models import Case, CaseTheme, User
from . import notify
from .changes import Change, change_case, checked_text, set_clock
from .core import Context
from .errors import Conflict, Forbidden


def close_case(change: Change, to_state: str, outcome: Mapping[str, Any], by: User) -> None:
    """Close the case in `to_state` with its outcome (text, referred_to, learning, themes)."""
    case, now = change.case, change.ctx.now
    text, referred_to = outcome.get("outcome"), outcome.get("referred_to")
    case.closed, case.closed_at = True, now
    case.outcome_kind, case.outcome_level, case.outcome_by_id = to_state, case.state, by.id
    case.outcome_text = f"{text}\nReferred to: {referred_to}" if referred_to else text
    case.learning_text = outcome.get("learning")
    case.state = to_state
    clear_closing(case)
    set_clock(case, None)
    change.uow.session.add_all(
        CaseTheme(case_id=case.id, theme=t) for t in sorted(outcome.get("themes") or [])
    )


def clear_closing(case: Case) -> None:
    """Forget the closing proposed at the case's level (it closed, or the level ended)."""
    case.closing_action = case.closing_step = case.closing_status = None
    case.closing_by = case.closing_answered_by = None
    case.closing_at = case.closing_outcome = case.closing_reason = None


def propose_closing(change: Change, action: Action, outcome: Mapping[str, Any]) -> None:
    """Keep the closing on the case as proposed, and tell the other side."""
    case, actor, definition = change.case, change.actor, change.definition
    case.closing_action, case.closing_step = action.key, change.step.number
    case.closing_by, case.closing_at = actor, change.ctx.now
    case.closing_status, case.closing_outcome = "proposed", dict(outcome)
    case.closing_answered_by, case.closing_reason = None, None
    change.done("closing_proposed", {"action": action.key, **outcome})
    change.tell(
        "closing_proposed",
        subject=f"a closing is proposed ({action.closes}): confirm or decline it",
        happened=(
            f"{actor.name} ({actor.agency.name}) proposed to close case {case.reference}: "
            f"'{action.title}'. It stays open at {definition.level_words(case.state)} until "
            "someone from another agency involved answers."
        ),
        expected="a party from another agency confirms it, or declines it with a reason.",
    )


def _answering(change: Change) -> tuple[Action, User]:
    """Return the closing action waiting for an answer and its proposer, or refuse."""
    case = change.case
    action = change.definition.action(case.closing_action or "")
    if case.closing_status != "proposed" or action is None or case.closing_by is None:
        raise Conflict("no closing is waiting for an answer on this case")
    if not rules.may_answer_closing(change.who, change.access, change.definition):
        raise Forbidden(
            "a closing is confirmed or declined by a party from another agency involved "
            "than the proposer's"
        )
    return action, case.closing_by


def confirm_closing(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    expected_version: int | None = None,
) -> Case:
    """Confirm the closing another agency proposed: the case closes with its outcome."""
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        case = change.case
        action, proposer = _answering(change)
        machine = ctx.workflows.machine(case.workflow_key, case.workflow_version)
        try:
            to_state = machine.fire(case.state, action.key)
        except ActionNotAllowed as exc:
            raise Conflict(str(exc)) from None
        from_state, outcome = case.state, dict(case.closing_outcome or {})
        change.step.ended_at = ctx.now
        close_case(change, to_state, outcome, proposer)
        change.done(
            action.key,
            {**outcome, "proposed_by": proposer.email, "confirmed_by": change.actor.email},
            from_state=from_state,
        )
        actor = change.actor
        change.tell(
            "closed",
            subject=f"closed ({case.outcome_kind})",
            happened=(
                f"{actor.name} ({actor.agency.name}) confirmed the closing {proposer.name} "
                f"proposed: case {case.reference} is {case.outcome_kind} at "
                f"{change.definition.level(from_state).title}."
            ),
            expected="nothing more; read the outcome and any learning on the case.",
        )
    return case


def decline_closing(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Decline the closing another agency proposed: the case stays at its level."""
    reason_text = checked_text(reason, "reason", rules.MAX_REASON)
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        case, actor = change.case, change.actor
        action, proposer = _answering(change)
        case.closing_status, case.closing_answered_by = "declined", actor
        case.closing_reason = reason_text
        change.done("closing_declined", {"action": action.key, "reason": reason_text})
        change.tell_person(
            proposer,
            kind="closing_declined",
            subject="the closing you proposed was declined",
            happened=(
                f"{actor.name} ({actor.agency.name}) declined your proposal to close case "
                f"{case.reference} ('{action.title}'); their reason is on the case. It stays "
                f"open at {change.definition.level_words(case.state)}, its clock running."
            ),
            expected=(
                "talk it through and decide by "
                f"{notify.when(change.step.due_at, change.definition)}, or escalate."
            ),
        )
    return case
