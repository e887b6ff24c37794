"""Taking an action on a case: escalate, resolve, withdraw, or one the definition adds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..domain import rules
from ..domain.machines import ActionNotAllowed
from ..models import Case, Record, Step
from . import notify
from .changes import Change, change_case, checked_text, open_step
from .closing import clear_closing, close_case, propose_closing
from .core import Context
from .errors import Conflict, Forbidden, Invalid, NotFound


def _closing(
    action_closes: str | None,
    requires_outcome: bool,
    outcome: Mapping[str, Any] | None,
    learning: Mapping[str, Any] | None,
) -> tuple[str | None, str | None, str | None, list[str]]:
    """Return (outcome text, referred to, learning text, themes) of an action, checked."""
    outcome_text = referred_to = learning_text = None
    if action_closes:
        outcome_text = checked_text(
            (outcome or {}).get("text"),
            "outcome.text",
            rules.MAX_OUTCOME,
            required=requires_outcome,
        )
        if outcome and outcome.get("referred_to") is not None:
            referred_to = checked_text(
                outcome.get("referred_to"), "outcome.referred_to", rules.MAX_REFERRED_TO
            )
    elif outcome:
        raise Invalid.field("outcome", "only an action that closes the case takes an outcome")
    themes: list[str] = []
    if learning:
        if not action_closes:
            raise Invalid.field("learning", "learning is recorded with the outcome")
        learning_text = checked_text(
            learning.get("text"), "learning.text", rules.MAX_LEARNING, required=False
        )
        themes = list(dict.fromkeys(learning.get("themes") or []))
        for theme in themes:
            if theme not in rules.THEMES:
                raise Invalid.field("learning.themes", f"unknown theme '{theme}'")
        if themes and not learning_text:
            raise Invalid.field("learning.text", "say what was learnt")
    return outcome_text, referred_to, learning_text, themes


def take_action(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    action_key: str,
    *,
    record: str | None,
    expected_version: int | None,
    outcome: Mapping[str, Any] | None = None,
    learning: Mapping[str, Any] | None = None,
) -> Case:
    """Escalate, resolve, withdraw or take any action the definition adds."""
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        case, definition, actor = change.case, change.definition, change.actor
        action = definition.action(action_key)
        if action is None:
            raise NotFound(f"'{action_key}' is not an action of {definition.title}")
        machine = ctx.workflows.machine(case.workflow_key, case.workflow_version)
        if action_key not in machine.available(case.state):
            raise Conflict(
                f"'{action.title}' cannot be taken at {definition.level_word} "
                f"{definition.level_number(case.state)} ({definition.level(case.state).title})"
            )
        if not rules.may_take(change.who, change.access, definition, action):
            raise Forbidden(
                f"your role cannot take '{action.title}' at this {definition.level_word}"
            )
        record_text = checked_text(
            record, "record", rules.MAX_RECORD, required=action.requires_record
        )
        outcome_text, referred_to, learning_text, themes = _closing(
            action.closes, action.requires_outcome, outcome, learning
        )
        from_state, step = case.state, change.step
        try:
            to_state = machine.fire(from_state, action_key)
        except ActionNotAllowed as exc:
            raise Conflict(str(exc)) from None
        if record_text:
            session.add(
                Record(
                    case_id=case.id,
                    step_number=step.number,
                    kind="decision",
                    text=record_text,
                    author=actor,
                    at=ctx.now,
                )
            )
        outcome_of = {
            "record": record_text,
            "outcome": outcome_text,
            "referred_to": referred_to,
            "learning": learning_text,
            "themes": themes,
        }
        if action.needs_agreement(definition.level(from_state)):
            propose_closing(change, action, outcome_of)
            return case
        step.ended_at = ctx.now
        new_step = None
        if definition.is_closed_state(to_state):
            close_case(change, to_state, outcome_of, actor)
        else:
            case.state = to_state
            clear_closing(case)  # a closing proposed at the level ends with it
            new_step = open_step(definition, case, to_state, ctx.now)
        change.done(
            action_key,
            {**outcome_of, "due_at": new_step.due_at.isoformat() if new_step else None},
            from_state=from_state,
        )
        _tell_action(change, action.title, from_state, new_step)
    return case


def _tell_action(change: Change, title: str, from_state: str, new_step: Step | None) -> None:
    case, definition, actor = change.case, change.definition, change.actor
    who = f"{actor.name} ({actor.agency.name})"
    if new_step is not None:
        stage = f"{definition.level_word} {definition.level_number(new_step.level)}"
        level = definition.level(new_step.level)
        change.tell(
            "escalated",
            subject=f"now at {stage}: {level.title}",
            happened=f"{who} took the action '{title}' on case {case.reference}: it is now at {stage}, {level.title}.",
            expected=f"those acting at this {definition.level_word} decide by {notify.when(new_step.due_at, definition)}.",
        )
    else:
        change.tell(
            "closed",
            subject=f"closed ({case.outcome_kind})",
            happened=f"{who} closed case {case.reference}: {case.outcome_kind} at {definition.level(from_state).title}.",
            expected="nothing more; read the outcome and any learning on the case.",
        )
