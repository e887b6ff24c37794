"""A case's events as plain sentences, with people's names: the timeline and a stale form."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.calendar import spoken_time
from ..domain.definitions import Definition
from ..models import AuditEvent
from ..services.views import CaseView

SCHEDULER = "scheduler"  # the sweep's name in the history (services.sweep.ACTOR)
RECORD_KINDS = {
    "discussion": "a discussion",
    "action": "an agreed action",
    "decision": "a decision",
    "note": "a note",
}


def names_in(case: CaseView) -> dict[str, str]:
    """Return the names of everyone a case's page shows, by e-mail address, and of its
    agencies, by code."""
    people = [case.raised_by, *case.parties]
    for record in case.records:
        people.append(record.author)
        people.extend(record.acknowledged_by)
    named = {person.email: person.name for person in people}
    return {**{agency.code: agency.name for agency in case.agencies}, **case.names, **named}


def _day(value: Any, definition: Definition) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return spoken_time(moment, definition.calendar.timezone, with_time=False)


def _level(definition: Definition, state: str | None) -> str:
    """'the first-line managers': a level's title as it reads inside a sentence."""
    if state is None or definition.is_closed_state(state):
        return state or ""
    title = definition.level(state).title
    return "the " + title[:1].lower() + title[1:] if not title.startswith("The ") else title.lower()


def _because(payload: Mapping[str, Any]) -> str:
    return f": {payload['reason']}" if payload.get("reason") else ""


def event_sentence(event: AuditEvent, definition: Definition, names: Mapping[str, str]) -> str:
    """Say what happened in one event, naming the person who did it."""
    who = names.get(event.actor or "", "Someone")
    payload = event.payload or {}
    action, to_state = event.action, event.to_state
    if action == "raised":
        where = definition.level_words(to_state) if to_state else ""
        return f"{who} raised the disagreement at {where[:1].lower() + where[1:]}"
    if action == "record_added":
        kind = RECORD_KINDS.get(str(payload.get("kind")), "a record")
        return f"{who} added {kind} to the record"
    if action == "record_acknowledged":
        return f"{who} marked a record as read"
    if action == "timescale_proposed":
        reason = f": {payload['reason']}" if payload.get("reason") else ""
        return f"{who} proposed {_day(payload.get('due_at'), definition)}{reason}"
    if action == "timescale_agreed":
        agreed = [names.get(str(e), "someone") for e in payload.get("agreed_by") or []]
        return f"{' and '.join(agreed) or who} agreed the timescale: decided by " + _day(
            payload.get("due_at"), definition
        )
    if action in ("step_overdue", "step_due_soon"):
        late = "went overdue" if action == "step_overdue" else "is due soon"
        return f"The {definition.level_word} ({_level(definition, payload.get('level'))}) {late}"
    if action in ("action_overdue", "action_due_soon"):
        return "An agreed action " + (
            "went overdue" if action == "action_overdue" else "is due soon"
        )
    if action == "timescale_declined":
        return f"{who} declined the proposed timescale" + _because(payload)
    if action in ("action_done", "action_withdrawn"):
        did = (
            "marked an agreed action as done"
            if action == "action_done"
            else "withdrew an agreed action"
        )
        note = payload.get("note") or payload.get("reason")
        return f"{who} {did}" + (f": {note}" if note else "")
    if action == "closing_proposed":
        found = definition.action(str(payload.get("action")))
        what = found.title[:1].lower() + found.title[1:] if found else "close the case"
        return f"{who} proposed to {what}, waiting for another agency to confirm"
    if action == "closing_declined":
        return f"{who} declined the proposed closing" + _because(payload)
    if action == "parties_added":
        joined = [
            names.get(str(n), str(n))
            for n in (*payload.get("agencies", []), *payload.get("people", []))
        ]
        return f"{who} brought in {', '.join(str(j) for j in joined)}"
    if action == "handed_over":
        old, new = (names.get(str(payload.get(k)), str(payload.get(k))) for k in ("from", "to"))
        return f"{who} handed {old}'s part over to {new}" + _because(payload)
    if action == "redacted":
        return "The case's text was removed, as the retention policy says"
    if to_state and definition.is_closed_state(to_state):
        return f"{who} closed the case as {to_state}"
    if to_state and event.from_state and to_state != event.from_state:
        return f"{who} escalated it to {_level(definition, to_state)}"
    found = definition.action(action)
    return f"{who}: {found.title.lower() if found else action.replace('_', ' ')}"


def since(case: CaseView, seen_version: int) -> list[str]:
    """Say what changed a case after the version a form was opened at: the last changes that
    moved its version on (the sweep's flags do not)."""
    moved = [e for e in case.events if e.actor != SCHEDULER and e.action != "raised"]
    names = names_in(case)
    count = max(case.version - seen_version, 0)
    zone = case.definition.calendar.timezone
    return [
        f"{event_sentence(e, case.definition, names)} ({spoken_time(e.at, zone)})"
        for e in (moved[-count:] if count else [])
    ]
