"""Reading and verifying the history's hash chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import audit
from ..models import AuditEvent, User
from . import access
from .core import Context, head

BATCH = 5000


def stored(event: AuditEvent) -> audit.StoredEvent:
    """Return the domain's view of a stored event."""
    return audit.StoredEvent(
        content=audit.EventContent(
            seq=event.seq,
            at=event.at,
            actor=event.actor,
            case=event.case_ref,
            action=event.action,
            from_state=event.from_state,
            to_state=event.to_state,
            payload_digest=event.payload_digest,
        ),
        payload=event.payload,
        redacted=event.redacted,
        prev_digest=event.prev_digest,
        digest=event.digest,
    )


def _all_events(session: Session, upto: int | None = None) -> Iterator[audit.StoredEvent]:
    after = 0
    while True:
        query = select(AuditEvent).where(AuditEvent.seq > after)
        if upto is not None:
            query = query.where(AuditEvent.seq <= upto)
        batch = list(session.scalars(query.order_by(AuditEvent.seq).limit(BATCH)))
        if not batch:
            return
        for event in batch:
            yield stored(event)
        after = batch[-1].seq
        session.expunge_all()


def _watch_redactions(
    events: Iterator[audit.StoredEvent], unexplained: dict[str | None, int]
) -> Iterator[audit.StoredEvent]:
    """Pass events through, noting cases whose text was removed with no later "redacted" event."""
    for event in events:
        case = event.content.case
        if event.content.action == "redacted" and case is not None:
            unexplained.pop(case, None)
        elif event.redacted and event.payload is not None:
            event = replace(event, redacted=False)  # a payload still there must match its digest
        elif event.redacted:
            unexplained.setdefault(case, event.content.seq)
        yield event


def verify_chain(session: Session, ctx: Context, upto: int | None = None) -> audit.Verdict:
    """Check the chain (or its first `upto` events) in batches so memory stays flat.

    An event whose payload was redacted passes only if its case has a later
    "redacted" event (which may come after `upto`).
    """
    unexplained: dict[str | None, int] = {}
    verdict = audit.verify(_watch_redactions(_all_events(session, upto), unexplained))
    if verdict.ok:
        seq, digest = head(session) if upto is None else (upto, verdict.head_digest)
        if verdict.events != seq or verdict.head_digest != digest:
            missing = verdict.events + 1
            return audit.Verdict(
                False,
                verdict.events,
                missing,
                f"the chain's head is event {seq}: events from {missing} are missing",
            )
    if upto is not None and unexplained:
        later = session.scalars(
            select(AuditEvent.case_ref).where(
                AuditEvent.seq > upto,
                AuditEvent.action == "redacted",
                AuditEvent.case_ref.in_([c for c in unexplained if c]),
            )
        )
        for case in later:
            unexplained.pop(case, None)
    first = min(unexplained.values(), default=None)
    if first is not None and (verdict.ok or (verdict.broken_at or 0) > first):
        return audit.Verdict(
            False,
            verdict.events,
            first,
            "its payload was removed but its case has no later redaction event",
        )
    return verdict


def read_events(
    session: Session, ctx: Context, user: User, after_seq: int, limit: int, *, door: str
) -> list[AuditEvent]:
    """Return up to `limit` events after a sequence number for a reader; the read is written
    to the access log."""
    target = access.target_of("events", {"after_seq": after_seq, "limit": limit})
    access.record_access(session, ctx, user, access.EVENTS_READ, target, door)
    return events_after(session, ctx, after_seq, limit)


def events_after(session: Session, ctx: Context, after_seq: int, limit: int) -> list[AuditEvent]:
    """Return up to `limit` events after a sequence number, in order."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > after_seq)
            .order_by(AuditEvent.seq)
            .limit(limit)
        )
    )
