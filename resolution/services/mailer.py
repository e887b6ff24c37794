"""The outbox sender: deliver queued notifications over SMTP, retrying with backoff.

A sender first claims the rows that are due with one conditional `UPDATE`
(setting `claimed_until`, a lease, and `claimed_by`, this claim's token) and
commits, so two senders never take the same row. It then sends each over one
SMTP connection: just before handing a row over it renews that row's lease, only
if the claim is still its own and live (else another sender may hold it and it
is skipped), and right after it marks the row sent, only if the claim is still
its own. Every claim, renewal and mark reads the clock afresh, so a long backlog
never leaves a claim expired the moment it is made. A row that fails is released
with its attempt counted, the error kept and its next attempt pushed back
exponentially (capped), so nothing is lost while the mail server is down. A row
is sent twice only if its sender dies between the server accepting it and
`sent_at` being committed (or one hand-over outlasts the lease); both copies
carry the same `Message-ID`, made from the row, so a mail system can drop the
second.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.orm import Session

from ..columns import table_of
from ..models import Outbox
from .core import Context

RESET_KIND = "password_reset"  # the kind of message whose body is a secret once sent
SENT_BODY = "[a password reset link, not kept once sent]"

log = logging.getLogger(__name__)

_OUTBOX = table_of(Outbox)
BATCH = 200
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=60)
LONGEST_RETRY = timedelta(hours=1)
TLS_MODES = ("none", "starttls", "ssl")
# CRLF line ends; headers folded only past SMTP's own limit, so subjects read cleanly.
_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand e-mail over: from SMTP_* and MAIL_FROM in the configuration."""

    host: str
    port: int
    tls: str = "none"
    user: str | None = None
    password: str | None = None
    sender: str = "resolution@localhost"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"SMTP_TLS must be one of {', '.join(TLS_MODES)}, not '{self.tls}'")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        """Return the settings held in an app's configuration."""
        return cls(
            host=config["SMTP_HOST"],
            port=int(config["SMTP_PORT"]),
            tls=(config.get("SMTP_TLS") or "none").lower(),
            user=config.get("SMTP_USER") or None,
            password=config.get("SMTP_PASSWORD") or None,
            sender=config.get("MAIL_FROM") or "resolution@localhost",
        )


def backoff(attempts: int) -> timedelta:
    """Return how long to wait after the `attempts`-th failure: doubling, capped at an hour."""
    if attempts < 1:
        return timedelta(0)
    factor: int = 2 ** min(attempts - 1, 20)  # a power of two (typeshed: int ** int is Any)
    return min(FIRST_RETRY * factor, LONGEST_RETRY)


Clock = Callable[[], datetime]


def _claim(session: Session, now: datetime, me: str, batch: int, lease: timedelta) -> list[Any]:
    """Take up to `batch` due rows for the claim `me` and commit; return them."""
    free = and_(
        _OUTBOX.c.sent_at.is_(None),
        or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < now),
    )
    due = (
        select(_OUTBOX.c.id)
        .where(free, _OUTBOX.c.next_attempt_at <= now)
        .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)  # PostgreSQL: senders pass each other by
    )
    rows = session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(due.scalar_subquery()), free)
        .values(claimed_until=now + lease, claimed_by=me)
        .returning(
            _OUTBOX.c.id,
            _OUTBOX.c.created_at,
            _OUTBOX.c.to_email,
            _OUTBOX.c.subject,
            _OUTBOX.c.body,
            _OUTBOX.c.attempts,
        )
    ).all()
    session.commit()
    return sorted(rows, key=lambda r: r.id)


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    """Open a connection with the configured TLS and credentials."""
    if smtp.tls == "ssl":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
        )
    else:
        conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        if smtp.tls == "starttls":
            conn.starttls(context=ssl.create_default_context())
    try:
        if smtp.user:
            conn.login(smtp.user, smtp.password or "")
    except BaseException:
        conn.close()
        raise
    return conn


def message_id(row_id: int, created_at: datetime, sender: str) -> str:
    """Return the `Message-ID` of an outbox row: the same on every attempt, so a mail system
    can drop a copy sent again after a sender died before marking it sent."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<outbox-{row_id}.{created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _email(row: Any, smtp: SmtpSettings, now: datetime) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = smtp.sender
    message["To"] = row.to_email
    message["Subject"] = row.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(row.id, row.created_at, smtp.sender)
    message.set_content(row.body)
    return message


def _mine(row_id: int, me: str) -> ColumnElement[bool]:
    """The row, unsent and still held by the claim `me`."""
    return and_(_OUTBOX.c.id == row_id, _OUTBOX.c.claimed_by == me, _OUTBOX.c.sent_at.is_(None))


def _renew(session: Session, row_id: int, me: str, now: datetime, lease: timedelta) -> bool:
    """Extend the claim on one row before it is handed over, if it is still ours and live;
    return whether it was (if not, another sender may be sending it)."""
    renewed = session.execute(
        update(_OUTBOX)
        .where(_mine(row_id, me), _OUTBOX.c.claimed_until > now)
        .values(claimed_until=now + lease)
        .returning(_OUTBOX.c.id)
    ).first()
    session.commit()
    return renewed is not None


def _mark_sent(session: Session, row_id: int, me: str, now: datetime) -> None:
    # Only the claim's holder marks: a row another sender has taken since is theirs to mark.
    session.execute(
        update(_OUTBOX)
        .where(_mine(row_id, me))
        .values(
            sent_at=now,
            claimed_until=None,
            claimed_by=None,
            last_error=None,
            # A reset link is a key to an account: once sent, the outbox keeps no copy.
            body=case((_OUTBOX.c.kind == RESET_KIND, SENT_BODY), else_=_OUTBOX.c.body),
        )
    )
    session.commit()


def _mark_failed(session: Session, rows: list[Any], me: str, now: datetime, error: str) -> None:
    for row in rows:
        attempts = row.attempts + 1
        session.execute(
            update(_OUTBOX)
            .where(_mine(row.id, me))
            .values(
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                claimed_until=None,
                claimed_by=None,
                last_error=error[:1000],
            )
        )
    session.commit()


def _moving_on_from(start: datetime) -> Clock:
    """Return a clock that reads `start` now and moves on with the real time elapsed."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def send_pending(
    session: Session,
    ctx: Context,
    smtp: SmtpSettings,
    *,
    batch: int = BATCH,
    lease: timedelta = LEASE,
    clock: Clock | None = None,
) -> tuple[int, int]:
    """Send the outbox rows that are due; return (sent, failed).

    `clock` is read at every claim, renewal and mark (the scheduler passes the real
    clock); by default it starts at `ctx.now` and moves on with the real time elapsed.
    """
    now = clock or _moving_on_from(ctx.now)
    if session.in_transaction():
        session.commit()
    sent = failed = 0
    while True:
        me = str(uuid.uuid4())  # this claim's token: only its holder renews and marks
        rows = _claim(session, now(), me, batch, lease)
        if not rows:
            return sent, failed
        try:
            conn = _connect(smtp)
        except (OSError, smtplib.SMTPException) as exc:
            _mark_failed(session, rows, me, now(), f"cannot reach the mail server: {exc!r}")
            log.warning("outbox: mail server unreachable, %d messages wait: %s", len(rows), exc)
            return sent, failed + len(rows)
        try:
            for index, row in enumerate(rows):
                at = now()
                if not _renew(session, row.id, me, at, lease):
                    continue
                try:
                    conn.send_message(_email(row, smtp, at))
                except smtplib.SMTPServerDisconnected as exc:
                    _mark_failed(session, rows[index:], me, now(), f"connection lost: {exc!r}")
                    return sent, failed + len(rows) - index
                except (OSError, smtplib.SMTPException) as exc:
                    _mark_failed(session, [row], me, now(), repr(exc))
                    failed += 1
                    continue
                _mark_sent(session, row.id, me, now())
                sent += 1
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()
        if len(rows) < batch:
            return sent, failed


def discard_unsent(session: Session, upto: datetime) -> int:
    """Drop the messages not yet sent that were queued at or before `upto`: the demonstration
    data's past events, about which nobody is to be e-mailed now. Return how many."""
    result = session.execute(
        delete(Outbox).where(Outbox.sent_at.is_(None), Outbox.created_at <= upto)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
