"""The outbox sender: nothing lost while the mail server is down, nothing sent twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, Step
from resolution.services.mailer import SmtpSettings, backoff, send_pending
from resolution.services.sweep import sweep

from .. import factories
from .conftest import SmtpServer


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

    assert send_pending(db.session(), service_context(late), smtp_server.settings) == (0, 7)
    for row in _rows():
        assert row.sent_at is None and row.claimed_until is None
        assert row.attempts == 1 and row.next_attempt_at == late + timedelta(seconds=60)
        assert "cannot reach the mail server" in row.last_error
    # Not due again yet: nothing is tried.
    assert send_pending(
        db.session(), service_context(late + timedelta(seconds=30)), smtp_server.settings
    ) == (0, 0)
    second = late + timedelta(seconds=61)
    assert send_pending(db.session(), service_context(second), smtp_server.settings) == (0, 7)
    assert {(r.attempts, r.next_attempt_at) for r in _rows()} == {
        (2, second + timedelta(minutes=2))
    }

    smtp_server.start()
    back = second + timedelta(minutes=5)
    assert send_pending(db.session(), service_context(back), smtp_server.settings) == (7, 0)
    assert send_pending(
        db.session(), service_context(back + timedelta(hours=2)), smtp_server.settings
    ) == (0, 0)
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
    assert send_pending(db.session(), service_context(now), smtp_server.settings) == (len(rest), 0)
    assert send_pending(
        db.session(), service_context(now + timedelta(minutes=6)), smtp_server.settings
    ) == (1, 0)
    assert len(smtp_server.mailbox.items) == len(rest) + 1


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
