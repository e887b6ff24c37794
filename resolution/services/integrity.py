"""Check the case tables against their history: a row changed behind the chain's back.

The hash chain proves the history events are unchanged; this check proves the
rows people read agree with them: each case's state is the state its last
event moved it to, its summary is the one it was raised with, and every record
reads as the event that wrote it. After redaction the words must be the marker.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Case, Record
from .core import Context
from .retention import MARKER

BATCH = 500


@dataclass(frozen=True)
class Mismatch:
    seq: int
    reference: str
    reason: str


def _text_of(payload: dict[str, Any] | None, key: str) -> str | None:
    value = (payload or {}).get(key)
    return value if isinstance(value, str) else None


def _check_case(case: Case, events: list[AuditEvent], records: list[Record]) -> Mismatch | None:
    ref = case.reference
    moves = [e for e in events if e.to_state is not None]
    if not moves:
        return Mismatch(0, ref, f"case {ref} has no history")
    last = moves[-1]
    if last.to_state != case.state:
        return Mismatch(
            last.seq, ref, f"case {ref} is at '{case.state}' but its history says '{last.to_state}'"
        )
    current = case.current_step
    clock = (current.level, current.due_at, current.warn_at) if current else (None, None, None)
    for involved in case.agencies:
        if (involved.level, involved.due_at, involved.warn_at) != clock:
            return Mismatch(
                last.seq,
                ref,
                f"case {ref}'s clock as {involved.agency.code} holds it differs from its current step",
            )
    if case.closed and case.outcome_kind != last.to_state:
        return Mismatch(
            last.seq,
            ref,
            f"case {ref} records outcome '{case.outcome_kind}', its history '{last.to_state}'",
        )
    if case.redacted_at is not None:
        redaction = next((e for e in reversed(events) if e.action == "redacted"), last)
        words = [case.summary, case.outcome_text, case.learning_text, *(r.text for r in records)]
        if any(w is not None and w != MARKER for w in words):
            return Mismatch(redaction.seq, ref, f"case {ref} was redacted but carries text again")
        return None
    raised = events[0]
    if raised.payload is not None and _text_of(raised.payload, "summary") not in (
        None,
        case.summary,
    ):
        return Mismatch(
            raised.seq, ref, f"case {ref}'s summary differs from the one it was raised with"
        )
    by_record: dict[int, AuditEvent] = {}
    by_time: dict[Any, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.payload is None:
            continue
        if event.action == "record_added" and isinstance(event.payload.get("record"), int):
            by_record[event.payload["record"]] = event
        elif _text_of(event.payload, "record") is not None:
            by_time[event.at].append(event)
    for record in records:
        if record.id in by_record:
            writer = by_record[record.id]
            if _text_of(writer.payload, "text") != record.text:
                return Mismatch(
                    writer.seq, ref, f"record {record.id} of case {ref} differs from its history"
                )
            continue
        candidates = by_time.get(record.at, [])
        if not any(_text_of(e.payload, "record") == record.text for e in candidates):
            seq = candidates[0].seq if candidates else last.seq
            return Mismatch(seq, ref, f"record {record.id} of case {ref} differs from its history")
    return None


def check_cases(session: Session, ctx: Context) -> Mismatch | None:
    """Return the first case whose rows disagree with its history, or None."""
    after = 0
    while True:
        cases = list(
            session.scalars(select(Case).where(Case.id > after).order_by(Case.id).limit(BATCH))
        )
        if not cases:
            return None
        refs = [c.reference for c in cases]
        events: dict[str, list[AuditEvent]] = defaultdict(list)
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref.in_(refs)).order_by(AuditEvent.seq)
        ):
            events[event.case_ref or ""].append(event)
        records: dict[int, list[Record]] = defaultdict(list)
        for record in session.scalars(
            select(Record).where(Record.case_id.in_([c.id for c in cases])).order_by(Record.id)
        ):
            records[record.case_id].append(record)
        for case in cases:
            found = _check_case(case, events[case.reference], records[case.id])
            if found is not None:
                return found
        after = cases[-1].id
        session.expunge_all()
