"""A case on the urgent route says so: in every e-mail's subject, in its page's heading and on
the Overdue list (all asking status.is_urgent, which asks status.timescale_for)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, User
from resolution.services import cases, parties, timescales
from resolution.services.sweep import sweep
from tests import factories

from .conftest import check_page

Client = Callable[[User], FlaskClient]
URGENT_TAG = re.compile(r'<strong class="govuk-tag govuk-tag--pink">\s*Urgent\s*</strong>')


def _subjects(case_id: int) -> list[str]:
    return list(db.session.scalars(select(Outbox.subject).where(Outbox.case_id == case_id)))


def test_an_urgent_case_says_urgent_in_mail_heading_and_overdue_list(
    world, now, as_user: Client
) -> None:
    start = now - timedelta(days=3)
    risk = cases.ImmediateRisk(True, "Emergency Duty Team", start - timedelta(hours=1))
    urgent = factories.make_case(world, start, immediate_risk=risk, child_ref="CS-URGENT")
    plain = factories.make_case(world, start, child_ref="CS-PLAIN")
    sweep(db.session(), service_context(start + timedelta(hours=25)))

    urgent_subjects = _subjects(urgent.id)
    assert {s.split(": ")[-1] for s in urgent_subjects} >= {"overdue at level 3"}
    assert urgent_subjects and all(
        s.startswith(f"Urgent: {urgent.reference}: ") for s in urgent_subjects
    )
    plain_subjects = _subjects(plain.id)
    assert plain_subjects and not any("Urgent" in s for s in plain_subjects)

    lead = as_user(world["csc_lead"])
    page = lead.get(f"/cases/{urgent.id}").get_data(as_text=True)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert heading and URGENT_TAG.search(heading.group(1))
    assert check_page(page).startswith(f"Case {urgent.reference} (urgent)")
    other = lead.get(f"/cases/{plain.id}").get_data(as_text=True)
    assert not URGENT_TAG.search(other) and check_page(other).startswith(
        f"Case {plain.reference} –"
    )

    listing = lead.get("/overdue?show=all").get_data(as_text=True)
    rows = {
        ref: row
        for row in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", listing, re.S)
        for ref in (urgent.reference, plain.reference)
        if ref in row
    }
    assert URGENT_TAG.search(rows[urgent.reference])
    assert not URGENT_TAG.search(rows[plain.reference])


def test_every_email_of_an_urgent_case_says_urgent_the_everyday_steps_too(world, now) -> None:
    risk = cases.ImmediateRisk(True, "Emergency Duty Team", now - timedelta(hours=1))
    case = factories.make_case(world, now, immediate_risk=risk, child_ref="CS-URGENT2")
    ctx = service_context(now + timedelta(hours=1))
    health, csc_lead = world["health_practitioner"], world["csc_lead"]
    db.session.refresh(case)
    timescales.propose_timescale(
        db.session(), ctx, health.id, case.id, due_at=factories.working_day(now, 2),
        reason="Both free then.", expected_version=case.version,
    )  # fmt: skip
    db.session.refresh(case)
    timescales.decline_timescale(
        db.session(), ctx, world["csc_practitioner"].id, case.id, reason="Too late for us.",
        expected_version=case.version,
    )  # fmt: skip
    db.session.refresh(case)
    parties.hand_over(
        db.session(), ctx, csc_lead.id, case.id, from_email=world["csc_practitioner"].email,
        to_email=world["csc_practitioner2"].email, reason="On leave.",
        expected_version=case.version,
    )  # fmt: skip
    kinds = dict(
        db.session.execute(select(Outbox.kind, Outbox.subject).where(Outbox.case_id == case.id))
        .tuples()
        .all()
    )
    assert {"timescale_declined", "handed_over"} <= set(kinds), kinds
    assert all(s.startswith(f"Urgent: {case.reference}: ") for s in kinds.values()), kinds
