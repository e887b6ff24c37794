"""The outbox sender: nothing lost while the mail server is down, nothing sent twice."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, Step
from resolution.services.mailer import SmtpSettings, backoff, message_id, send_pending
from resolution.services.sweep import sweep

from .. import factories
from .conftest import Mailbox, SmtpServer


def _send(at: datetime, server: SmtpServer) -> tuple[int, int]:
    """Send what is due at `at`, on a clock stopped there."""
    return send_pending(db.session(), service_context(at), server.settings, clock=lambda: at)


def _rows() -> list[Outbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(Outbox).order_by(Outbox.id)))


def test_backoff_doubles_and_stops_at_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 8)] == [60, 120, 240, 480, 960, 1920, 3600]
    assert backoff(50) == timedelta(hours=1)


def test_messages_wait_while_the_server_is_down_and_arrive_once_when_it_is_back(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    case = factories.make_case(world, now)
    due = db.session.scalars(select(Step.due_at).where(Step.case_id == case.id)).one()
    late = due + timedelta(minutes=1)
    sweep(db.session(), service_context(late))
    queued = _rows()
    assert len(queued) == 3 + 4  # raised: parties and leads but the raiser; overdue: 4
    smtp_server.stop()

    assert _send(late, smtp_server) == (0, 7)
    for row in _rows():
        assert row.sent_at is None and row.claimed_until is None
        assert row.attempts == 1 and row.next_attempt_at == late + timedelta(seconds=60)
        assert "cannot reach the mail server" in row.last_error
    # Not due again yet: nothing is tried.
    assert _send(late + timedelta(seconds=30), smtp_server) == (0, 0)
    second = late + timedelta(seconds=61)
    assert _send(second, smtp_server) == (0, 7)
    assert {(r.attempts, r.next_attempt_at) for r in _rows()} == {
        (2, second + timedelta(minutes=2))
    }

    smtp_server.start()
    back = second + timedelta(minutes=5)
    assert _send(back, smtp_server) == (7, 0)
    assert _send(back + timedelta(hours=2), smtp_server) == (0, 0)
    got = smtp_server.mailbox.recipients()
    assert len(got) == 7
    assert sorted((m.to, m.subject) for m in smtp_server.mailbox.items) == sorted(
        (r.to_email, r.subject) for r in queued
    )
    assert len({m.message["Message-ID"] for m in smtp_server.mailbox.items}) == 7
    for row in _rows():
        assert row.sent_at == back and row.last_error is None and row.attempts == 2


def test_a_claimed_row_is_left_to_its_sender_until_the_lease_runs_out(
    app: Flask, world: factories.World, now: datetime, smtp_server: SmtpServer
) -> None:
    factories.make_case(world, now)
    (first, *rest) = _rows()
    first.claimed_until = now + timedelta(minutes=5)  # another sender holds it
    db.session.commit()
    assert _send(now, smtp_server) == (len(rest), 0)
    assert _send(now + timedelta(minutes=6), smtp_server) == (1, 0)
    assert len(smtp_server.mailbox.items) == len(rest) + 1


def _queue(count: int, at: datetime) -> list[int]:
    rows = [
        Outbox(
            created_at=at,
            kind="test",
            to_email=f"person{n}@example.org",
            subject=f"Message {n}",
            body=f"body {n}",
            attempts=0,
            next_attempt_at=at,
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.commit()
    ids = [row.id for row in rows]
    db.session.remove()
    return ids


class SlowMailbox(Mailbox):
    """A mailbox whose server takes its time over each message it accepts."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.2)
        return await super().handle_DATA(server, session, envelope)


def test_two_senders_with_a_short_lease_and_a_slow_server_deliver_each_message_once(
    app: Flask,
) -> None:
    """Each batch takes the slow server longer than the one-second lease, and each sender
    keeps starting new runs (as the scheduler does) while the other is still on a backlog
    larger than a batch: every message arrives, none twice."""
    server = SmtpServer()
    server.mailbox = SlowMailbox()
    server.start()
    ids = _queue(40, service_context().now - timedelta(minutes=1))
    errors: list[BaseException] = []

    def pending() -> int:
        return len(db.session.scalars(select(Outbox.id).where(Outbox.sent_at.is_(None))).all())

    def sender() -> None:
        try:
            with app.app_context():
                while pending():
                    send_pending(
                        db.session(),
                        service_context(),
                        server.settings,
                        batch=8,
                        lease=timedelta(seconds=1),
                    )
                    db.session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        server.stop()
    assert errors == []
    assert sorted(d.body.strip() for d in server.mailbox.items) == sorted(
        f"body {n}" for n in range(40)
    )
    delivered = Counter(str(d.message["Message-ID"]) for d in server.mailbox.items)
    rows = {row.id: row for row in _rows()}
    expected = {message_id(i, rows[i].created_at, server.settings.sender) for i in ids}
    assert set(delivered) == expected and set(delivered.values()) == {1}
    assert all(row.sent_at is not None and row.claimed_by is None for row in rows.values())


def test_a_message_sent_again_carries_the_same_message_id(
    app: Flask, now: datetime, smtp_server: SmtpServer
) -> None:
    """A sender killed after the server took a message but before marking it sent leaves it
    to be sent again: the copy has the same Message-ID, made from the row."""
    (row_id,) = _queue(1, now)
    assert _send(now, smtp_server) == (1, 0)
    db.session.execute(Outbox.__table__.update().where(Outbox.id == row_id).values(sent_at=None))
    db.session.commit()
    assert _send(now + timedelta(minutes=1), smtp_server) == (1, 0)
    (row,) = _rows()
    first, again = (str(d.message["Message-ID"]) for d in smtp_server.mailbox.items)
    assert first == again == message_id(row_id, row.created_at, "resolution@test")
    assert first.startswith(f"<outbox-{row_id}.") and first.endswith("@test>")


def test_settings_come_from_the_configuration(app: Flask) -> None:
    settings = SmtpSettings.from_config(
        {
            "SMTP_HOST": "mail.example",
            "SMTP_PORT": "587",
            "SMTP_TLS": "STARTTLS",
            "SMTP_USER": "u",
            "SMTP_PASSWORD": "p",
            "MAIL_FROM": "noreply@example",
        }
    )
    assert (settings.host, settings.port, settings.tls, settings.user, settings.sender) == (
        "mail.example",
        587,
        "starttls",
        "u",
        "noreply@example",
    )
    with pytest.raises(ValueError, match="SMTP_TLS"):
        SmtpSettings(host="h", port=25, tls="tls")
