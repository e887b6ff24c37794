"""Every read that returns case text is in the access log: one row per request, with filters."""

from __future__ import annotations

from sqlalchemy import select

from resolution.extensions import db
from resolution.models import AccessLog

from .conftest import new_case


def _logged() -> list[tuple[str | None, str, str | None, str]]:
    db.session.rollback()
    rows = db.session.scalars(select(AccessLog).order_by(AccessLog.id))
    return [(r.actor, r.what, r.target, r.door) for r in rows]


def test_lists_histories_and_the_audit_events_are_each_one_row(api, world, now) -> None:
    case = new_case(world, now)
    new_case(world, now, child_ref="CS-222222")
    lead = "health_lead@example.org"
    assert api.get("/cases?state=open&per_page=5", "health_lead").status_code == 200
    assert api.get(f"/cases/{case.id}/history", "health_lead").status_code == 200
    assert api.get("/audit/events?after_seq=0&limit=10", "auditor").status_code == 200
    assert _logged() == [
        (lead, "cases_listed", "cases?state=open&page=1&per_page=5", "api"),
        (lead, "history_viewed", case.reference, "api"),
        ("auditor@example.org", "audit_events_read", "events?after_seq=0&limit=10", "api"),
    ]


def test_a_refused_read_leaves_no_row(api, world, now) -> None:
    case = new_case(world, now)
    assert api.get(f"/cases/{case.id}/history", "police_practitioner").status_code == 404
    assert api.get("/audit/events", "csc_practitioner").status_code == 403
    assert _logged() == []
