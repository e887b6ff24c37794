"""Reading and verifying the history's hash chain."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import audit
from ..models import AuditEvent
from .core import head

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


def _all_events(session: Session) -> Iterator[audit.StoredEvent]:
    after = 0
    while True:
        batch = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(BATCH))
        )
        if not batch:
            return
        for event in batch:
            yield stored(event)
        after = batch[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> audit.Verdict:
    """Check the whole chain against its head, in batches so memory stays flat."""
    verdict = audit.verify(_all_events(session))
    if not verdict.ok:
        return verdict
    seq, digest = head(session)
    if verdict.events != seq or verdict.head_digest != digest:
        missing = verdict.events + 1
        return audit.Verdict(False, verdict.events, missing, f"the chain's head is event {seq}: events from {missing} are missing")
    return verdict


def events_after(session: Session, after_seq: int, limit: int) -> list[AuditEvent]:
    """Return up to `limit` events after a sequence number, in order."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(limit)))
