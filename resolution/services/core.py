"""The unit of work every change goes through: one transaction, one chain of events.

The audit chain has one head (a row holding the newest event's number and digest),
and whoever holds it writes the next events. On SQLite a writer locks the head
first, so writes are serialised and every read after it is fresh (SQLite allows one
writer at a time anyway, and taking the write lock first avoids two readers both
trying to upgrade). On PostgreSQL a change to one case locks that case's row first
(`FOR NO KEY UPDATE`: writers of the same case queue, writers of different cases go
on side by side) and takes the head only at the end, to number and chain its events
and commit; so do the sweep's chunks, whose conditional updates need no lock to flag
each item once. Other changes (raising a case, accounts, retention) take the head
first, as on SQLite; none of them waits for a row a case's writer holds, so the two
orders cannot deadlock. Any refusal raised before the commit rolls everything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from ..domain import audit
from ..domain.machines import Workflows
from ..models import AuditEvent, AuditHead, Case, Outbox, Step, User

_LOCK_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=AuditHead.seq)
    .returning(AuditHead.seq, AuditHead.digest)
)


@dataclass(frozen=True)
class Context:
    """What every service call needs from its door: the workflows and the time."""

    workflows: Workflows
    now: datetime
    base_url: str = "http://127.0.0.1:5000"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")

    def case_url(self, case_id: int) -> str:
        """Return the link to a case's page."""
        return f"{self.base_url.rstrip('/')}/cases/{case_id}"


@dataclass(frozen=True)
class Message:
    to_email: str
    subject: str
    body: str
    kind: str
    case_id: int | None


def load_user(session: Session, user_id: int) -> User | None:
    """Return a user with their agency (joined by the mapping), or None."""
    return session.get(User, user_id)


class UnitOfWork:
    """One all-or-nothing change: the session's objects, history events and notifications."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.seq = 0
        self.digest = audit.GENESIS
        self.locked = False
        self._events: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []

    @property
    def events(self) -> int:
        """Return how many events this change has recorded so far."""
        return len(self._events)

    def lock_case(self, case_id: int) -> None:
        """Lock one case's row and its current step's (PostgreSQL): its writers queue, other
        cases' do not, and the sweep passes over the step until the change is done."""
        self.session.execute(
            select(Case.id).where(Case.id == case_id).with_for_update(key_share=True)
        )
        self.session.execute(
            select(Step.id)
            .where(Step.case_id == case_id, Step.ended_at.is_(None))
            .with_for_update(key_share=True)
        )

    def lock(self) -> None:
        """Take the writers' lock (the audit head row) and read the chain's head."""
        row = self.session.execute(_LOCK_HEAD).first()
        if row is None:
            self.session.execute(insert(AuditHead).values(id=1, seq=0, digest=audit.GENESIS))
            self.seq, self.digest = 0, audit.GENESIS
        else:
            self.seq, self.digest = int(row[0]), str(row[1])
        self.locked = True

    def record_event(
        self,
        *,
        actor: User | str | None,
        action: str,
        case_ref: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Add one event; it is numbered and chained when the change is written."""
        body = dict(payload or {})
        self._events.append(
            {
                "at": self.now,
                "actor": actor.email if isinstance(actor, User) else actor,
                "case_ref": case_ref,
                "action": action,
                "from_state": from_state,
                "to_state": to_state,
                "payload": body,
                "payload_digest": audit.payload_digest(body),
                "redacted": False,
            }
        )

    def _chain(self) -> None:
        """Number and chain the events from the head, which this unit holds."""
        for event in self._events:
            content = audit.EventContent(
                seq=self.seq + 1,
                at=event["at"],
                actor=event["actor"],
                case=event["case_ref"],
                action=event["action"],
                from_state=event["from_state"],
                to_state=event["to_state"],
                payload_digest=event["payload_digest"],
            )
            digest = audit.chain(self.digest, content.digest())
            event.update(seq=content.seq, prev_digest=self.digest, digest=digest)
            self.seq, self.digest = content.seq, digest

    def queue(self, messages: Iterable[Message]) -> int:
        """Queue notifications to send after the commit; return how many."""
        rows = [
            {
                "created_at": self.now,
                "kind": m.kind,
                "case_id": m.case_id,
                "to_email": m.to_email,
                "subject": m.subject,
                "body": m.body,
                "attempts": 0,
                "next_attempt_at": self.now,
            }
            for m in messages
        ]
        self._outbox.extend(rows)
        return len(rows)

    def finish(self) -> None:
        """Flush the objects, then write the events and messages, move the head, commit."""
        self.session.flush()
        if self._events:
            if not self.locked:
                self.lock()  # late (PostgreSQL): every row this change locks is locked already
            self._chain()
            self.session.execute(insert(AuditEvent), self._events)
            self.session.execute(
                update(AuditHead).where(AuditHead.id == 1).values(seq=self.seq, digest=self.digest)
            )
        if self._outbox:
            self.session.execute(insert(Outbox), self._outbox)
        self.session.commit()


@contextmanager
def unit_of_work(
    session: Session, now: datetime, *, case_id: int | None = None, late: bool = False
) -> Iterator[UnitOfWork]:
    """Run one change as one transaction; roll back on any exception.

    `case_id`: the change is to this case alone; `late`: the change needs no lock
    of its own (the sweep). Either lets PostgreSQL take the head only at the end.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a change began with unsaved objects in the session")
    if session.in_transaction():
        # End a read-only transaction left by the door (loading the user): the
        # first lock must come first, so later reads are fresh.
        session.commit()
    uow = UnitOfWork(session, now)
    try:
        if (case_id is not None or late) and session.get_bind().dialect.name == "postgresql":
            if case_id is not None:
                uow.lock_case(case_id)
        else:
            uow.lock()
        yield uow
        uow.finish()
    except BaseException:
        session.rollback()
        raise


def engine_of(session: Session) -> Engine:
    """Return the engine behind a session, for a short transaction on a connection of its
    own (kept whatever becomes of the session's: the access log, the sign-in counts)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def head(session: Session) -> tuple[int, str]:
    """Return the chain's newest sequence number and digest."""
    row = session.execute(select(AuditHead.seq, AuditHead.digest).where(AuditHead.id == 1)).first()
    return (int(row[0]), str(row[1])) if row else (0, audit.GENESIS)
