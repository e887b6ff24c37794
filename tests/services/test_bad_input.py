"""The services refuse, by field, what no door should let through: control characters, far days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from resolution.domain import rules
from resolution.extensions import db
from resolution.services import access, cases, reports
from resolution.services.errors import Invalid
from tests import factories

FAR = [
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    datetime(1899, 12, 31, tzinfo=UTC),
]


@pytest.mark.parametrize("at", FAR)
def test_far_instants_are_refused_before_any_comparison(world, now, ctx, at) -> None:
    case = factories.make_case(world, now)
    risk = cases.ImmediateRisk(referral_made=True, referred_to="The front door", at=at)
    with pytest.raises(Invalid) as raised:
        cases.raise_case(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            child_ref="CS-4455",
            category="other",
            summary="S.",
            with_agencies=["HEALTH"],
            immediate_risk=risk,
        )
    assert raised.value.fields == {"immediate_risk.at": [rules.OUT_OF_RANGE]}
    with pytest.raises(Invalid) as due:
        cases.add_record(
            db.session(),
            ctx,
            world["csc_practitioner"].id,
            case.id,
            kind="action",
            text="Do it.",
            action_due=at,
        )
    assert due.value.fields == {"action_due": [rules.OUT_OF_RANGE]}


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[2J", "del\x7f"])
def test_control_characters_are_refused_by_the_services(world, now, ctx, text) -> None:
    case = factories.make_case(world, now)
    with pytest.raises(Invalid) as raised:
        cases.add_record(
            db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text=text
        )
    assert raised.value.fields == {"text": [rules.NOT_PRINTABLE]}


def test_far_days_and_pages_are_refused_by_the_reading_services(world, ctx) -> None:
    with pytest.raises(Invalid) as bounds:
        reports.local_bounds(None, date(9999, 12, 31))
    assert bounds.value.fields == {"date_to": [rules.OUT_OF_RANGE]}
    auditor = world["auditor"]
    with pytest.raises(Invalid) as page:
        access.access_page(db.session(), ctx, auditor, page=rules.MAX_PAGE + 1)
    assert "page" in (page.value.fields or {})
    with pytest.raises(Invalid) as day:
        access.access_page(db.session(), ctx, auditor, day=date(9999, 12, 31))
    assert "on" in (day.value.fields or {})
