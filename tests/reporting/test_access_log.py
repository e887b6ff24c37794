"""Who looked at what: an append-only log outside the chain that only auditors read."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AccessLog, AuditEvent, Case
from resolution.services import access
from resolution.services.errors import Forbidden, Invalid

from .conftest import Fixture, at


def test_an_export_from_the_command_line_is_logged_and_auditors_read_it(
    runner, closed_cases: Fixture, tmp_path: Path
) -> None:
    chain_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    out = tmp_path / "o.csv"
    assert (
        runner.invoke(
            args=["outcomes", "export", "--as", "partnership@example.org", "--out", str(out)]
        ).exit_code
        == 0
    )
    rows = access.access_events(db.session(), service_context(), closed_cases.world["auditor"])
    assert [(r["actor"], r["what"], r["target"], r["door"]) for r in rows] == [
        ("partnership@example.org", "exported", "outcomes.csv", "cli")
    ]
    assert rows[0]["at"].tzinfo is not None
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent)) == chain_before
    )  # not in the chain


def test_only_auditors_read_the_access_log(app, closed_cases: Fixture) -> None:
    for name in ("partnership", "csc_lead", "admin"):
        with pytest.raises(Forbidden):
            access.access_events(db.session(), service_context(), closed_cases.world[name])


def test_views_and_sign_ins_are_paged_oldest_first(app, world) -> None:
    auditor = world["auditor"]
    lead = world["csc_lead"]
    first = access.record_access(
        db.session(), service_context(at(2)), lead, access.SIGNED_IN, None, "web"
    )
    access.record_access(
        db.session(), service_context(at(2, 10)), lead, access.CASE_VIEWED, "RC-000001", "web"
    )
    access.record_access(
        db.session(),
        service_context(at(2, 11)),
        "Someone@Example.org",
        access.SIGN_IN_FAILED,
        None,
        "web",
    )
    access.record_access(
        db.session(), service_context(at(2, 12)), lead, access.CASE_VIEWED, "RC-000002", "api"
    )
    page = access.access_events(db.session(), service_context(), auditor, after_id=first, limit=2)
    assert [(r["what"], r["target"]) for r in page] == [
        ("case_viewed", "RC-000001"),
        ("sign_in_failed", None),
    ]
    assert page[1]["user_id"] is None and page[1]["actor"] == "Someone@Example.org"
    viewed = access.access_events(db.session(), service_context(), auditor, target="RC-000002")
    assert [(r["actor"], r["door"]) for r in viewed] == [("csc_lead@example.org", "api")]
    with pytest.raises(Invalid):
        access.access_events(db.session(), service_context(), auditor, limit=0)
    with pytest.raises(Invalid):
        access.record_access(
            db.session(), service_context(at(3)), lead, access.CASE_VIEWED, "RC-1", "fax"
        )


def test_a_logged_view_stays_when_the_request_that_made_it_rolls_back(
    app, closed_cases: Fixture
) -> None:
    case = db.session.scalar(select(Case).where(Case.reference == closed_cases.refs["A"]))
    case.summary = "an unsaved change"
    access.record_access(
        db.session(),
        service_context(at(20)),
        closed_cases.world["auditor"],
        access.CASE_VIEWED,
        case.reference,
        "web",
    )
    db.session.rollback()
    assert db.session.scalar(select(Case.summary).where(Case.id == case.id)) != "an unsaved change"
    assert db.session.scalar(select(func.count()).select_from(AccessLog)) == 1
