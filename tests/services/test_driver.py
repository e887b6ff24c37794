"""Statements sent to the driver's cursor give back what SQLAlchemy's execution gives."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from resolution.extensions import db
from resolution.models import AccessLog, AuditEvent, Outbox, Step
from resolution.services import accounts, driver, queries
from resolution.services.access import CASE_VIEWED, record_access
from resolution.services.accounts import _TOKEN_USER, hash_token
from tests import factories
from tests.services.test_queries import _busy_case


def test_a_case_read_through_the_driver_is_the_rows_sqlalchemy_reads(world, now) -> None:
    """Instants come back aware in UTC, booleans as booleans, JSON arrays parsed."""
    closed = _busy_case(world, now)
    open_one = factories.make_case(world, now, child_ref="CS-OPEN").id
    connection = db.session.connection()
    for case_id in (closed, open_one):
        ours = driver.rows(connection, queries._ONE_CASE, {"id": case_id})
        theirs = connection.execute(queries._ONE_CASE, {"id": case_id}).all()
        assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
        assert [r._fields for r in ours] == [tuple(r._fields) for r in theirs]
        assert ours[0].raised_at.utcoffset() == timedelta(0)
        assert ours[0].closed is (case_id == closed)


def test_a_tokens_user_read_through_the_driver_is_what_sqlalchemy_reads(world, now) -> None:
    token = accounts.issue_token(world["csc_lead"].email, now=now)
    connection = db.session.connection()
    values = {"token_hash": hash_token(token)}
    ours = driver.first(connection, _TOKEN_USER, values)
    theirs = connection.execute(_TOKEN_USER, values).first()
    assert tuple(ours) == tuple(theirs) and ours.u_email == world["csc_lead"].email
    assert ours.u_active is True and isinstance(ours.expires_at, datetime)
    assert driver.first(connection, _TOKEN_USER, {"token_hash": "0" * 64}) is None


def test_rows_written_through_the_driver_read_back_as_written(world, now) -> None:
    """The unit of work's rows (steps, events, e-mails) and an access row, read by the ORM."""
    case_id = _busy_case(world, now)
    steps = db.session.scalars(select(Step).where(Step.case_id == case_id)).all()
    assert [s.number for s in steps] == [1, 2] and all(
        s.due_at.utcoffset() == timedelta(0) for s in steps
    )
    assert steps[0].went_overdue is False and steps[0].ended_at is not None
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert events and all(isinstance(e.payload, dict) for e in events)
    assert all(e.at.utcoffset() == timedelta(0) and e.redacted is False for e in events)
    assert db.session.scalar(select(Outbox).where(Outbox.case_id == case_id)).attempts == 0
    row_id = record_access(
        db.session, world["csc_lead"], CASE_VIEWED, "RC-000001", "api", now, with_read=True
    )
    db.session.commit()
    logged = db.session.get(AccessLog, row_id)
    assert (logged.at, logged.actor, logged.door) == (now, world["csc_lead"].email, "api")
