"""Who is told: the same rule for a change and for the sweep, and never a deactivated user."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, Step
from resolution.services import accounts
from resolution.services.sweep import sweep
from tests import factories


def _told(kind: str) -> set[str]:
    return {o.to_email for o in db.session.scalars(select(Outbox).where(Outbox.kind == kind))}


def test_a_deactivated_user_is_told_nothing_by_a_change_or_by_the_sweep(world, now) -> None:
    case = factories.make_case(world, now)
    priya = world["health_practitioner"]
    accounts.set_active(db.session(), service_context(now), priya.email, False)
    late = db.session.scalars(select(Step).where(Step.case_id == case.id)).one().due_at
    sweep(db.session(), service_context(late + timedelta(minutes=1)))
    factories.escalate(world, late + timedelta(hours=1), case)
    for kind in ("overdue", "escalated"):
        assert world["health_lead"].email in _told(kind), kind  # her agency is still told
        assert priya.email not in _told(kind), kind
