"""The retention rule: a closed case's free text is kept for a set time, then redacted.

The definition's `[retention] text_kept_for_days` sets how long after closure a
case's words are kept. Past it, the summary, outcome, learning, records and
timescale reasons are replaced by a fixed marker; the history events of the
case lose their payloads but keep their payload digests, so the chain still
verifies; and one "redacted" event per case records what was done. The table
fields the outcome log and the figures are built from are left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from ..models import AuditEvent, Case, Record, Step
from .core import Context, unit_of_work

MARKER = "[redacted under the retention rule]"
ACTOR = "retention rule"


@dataclass(frozen=True)
class Due:
    """A closed case whose free text is past its keeping time."""

    case_id: int
    reference: str
    closed_at: datetime
    keep_days: int
    records: int
    events: int

    @property
    def expired_at(self) -> datetime:
        """Return when the case's text stopped being kept."""
        return self.closed_at + timedelta(days=self.keep_days)


@dataclass(frozen=True)
class RetentionResult:
    references: tuple[str, ...]
    records: int
    events: int

    @property
    def cases(self) -> int:
        """Return how many cases were redacted."""
        return len(self.references)


def plan_retention(session: Session, ctx: Context, *, keep_days: int | None = None) -> list[Due]:
    """Return the closed, unredacted cases whose text is past keeping, oldest closure first.

    `keep_days`, when given, overrides every definition's own rule (configuration).
    """
    workflows, now = ctx.workflows, ctx.now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    candidates = session.scalars(
        select(Case)
        .where(Case.closed.is_(True), Case.redacted_at.is_(None), Case.closed_at.is_not(None))
        .order_by(Case.closed_at, Case.reference)
    )
    due: list[tuple[Case, datetime, int]] = []
    for case in candidates:
        days = keep_days
        if days is None:
            days = workflows.definition(
                case.workflow_key, case.workflow_version
            ).text_retention_days
        closed_at = case.closed_at
        if days is None or closed_at is None or closed_at + timedelta(days=days) > now:
            continue
        due.append((case, closed_at, days))
    if not due:
        return []
    ids = [case.id for case, _, _ in due]
    refs = [case.reference for case, _, _ in due]
    records_of = (
        select(Record.case_id, func.count()).where(Record.case_id.in_(ids)).group_by(Record.case_id)
    )
    events_of = (
        select(AuditEvent.case_ref, func.count())
        .where(AuditEvent.case_ref.in_(refs), AuditEvent.redacted.is_(False))
        .group_by(AuditEvent.case_ref)
    )
    records = dict(session.execute(records_of).tuples().all())
    events = dict(session.execute(events_of).tuples().all())
    return [
        Due(
            case_id=case.id,
            reference=case.reference,
            closed_at=closed_at,
            keep_days=days,
            records=records.get(case.id, 0),
            events=events.get(case.reference, 0),
        )
        for case, closed_at, days in due
    ]


def _redact_case(session: Session, case: Case, now: datetime) -> tuple[int, int]:
    """Replace one case's free text with the marker; return (records, events) redacted."""
    case.summary = MARKER
    if case.outcome_text is not None:
        case.outcome_text = MARKER
    if case.learning_text is not None:
        case.learning_text = MARKER
    case.redacted_at = now
    case.version += 1
    records = session.execute(
        update(Record)
        .where(Record.case_id == case.id, Record.redacted_at.is_(None))
        .values(
            text=MARKER,
            redacted_at=now,
            action_done_note=_marked(Record.action_done_note),
            action_withdrawn_reason=_marked(Record.action_withdrawn_reason),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Step)
        .where(Step.case_id == case.id, Step.proposed_reason.is_not(None))
        .values(proposed_reason=MARKER)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Step)
        .where(Step.case_id == case.id, Step.agreed_reason.is_not(None))
        .values(agreed_reason=MARKER)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Step)
        .where(Step.case_id == case.id, Step.declined_reason.is_not(None))
        .values(declined_reason=MARKER)
        .execution_options(synchronize_session=False)
    )
    events = session.execute(
        update(AuditEvent)
        .where(AuditEvent.case_ref == case.reference, AuditEvent.redacted.is_(False))
        .values(payload=None, redacted=True)
        .execution_options(synchronize_session=False)
    )
    # An UPDATE's result is a CursorResult (Session.execute is typed with the base Result).
    assert isinstance(records, CursorResult) and isinstance(events, CursorResult)
    return records.rowcount, events.rowcount


def apply_retention(
    session: Session, ctx: Context, *, keep_days: int | None = None, only: set[str] | None = None
) -> RetentionResult:
    """Redact every case past its keeping time (or only those named), in one transaction."""
    references: list[str] = []
    records = events = 0
    with unit_of_work(session, ctx.now) as uow:
        for item in plan_retention(session, ctx, keep_days=keep_days):
            if only is not None and item.reference not in only:
                continue
            case = session.get(Case, item.case_id)
            assert case is not None
            done_records, done_events = _redact_case(session, case, ctx.now)
            uow.record_event(
                actor=ACTOR,
                action="redacted",
                case_ref=case.reference,
                from_state=case.state,
                to_state=case.state,
                payload={
                    "rule": f"free text kept {item.keep_days} days after closure",
                    "closed_at": item.closed_at.isoformat(),
                    "records": done_records,
                    "events": done_events,
                },
            )
            references.append(case.reference)
            records += done_records
            events += done_events
    return RetentionResult(tuple(references), records, events)


def _marked(column: Any) -> Any:
    """The marker where a column holds text, NULL where it holds none."""
    return sql_case((column.is_not(None), MARKER), else_=None)
