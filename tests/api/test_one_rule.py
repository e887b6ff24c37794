"""The API answers as the pages do: one rule for the clock, for a closed case, for who sees."""

from __future__ import annotations

from datetime import timedelta

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Case, CaseParty
from resolution.services import cases
from tests import factories

from .conftest import error_of, new_case, nothing_written


def test_an_urgent_case_answers_with_its_own_clock(api, world, now) -> None:
    risk = cases.ImmediateRisk(True, "Emergency Duty Team", now - timedelta(hours=1))
    case = new_case(world, now, immediate_risk=risk)
    step = api.get(f"/cases/{case.id}", "csc_practitioner").get_json()["step"]
    assert step["urgent"] is True and step["timescale"]["default"] == "24 hours"
    plain = new_case(world, now, child_ref="CS-777777")
    step = api.get(f"/cases/{plain.id}", "csc_practitioner").get_json()["step"]
    assert step["urgent"] is False and step["timescale"]["default"] == "5 working days"


def test_a_closed_case_refuses_an_acknowledgement_with_a_conflict(api, world, now) -> None:
    case = new_case(world, now)
    ctx = service_context(now)
    record = cases.add_record(
        db.session(), ctx, world["csc_practitioner"].id, case.id, kind="note", text="Seen."
    )
    factories.resolve(world, now, case)
    with nothing_written():
        response = api.post(f"/records/{record.id}/acknowledge", "health_practitioner")
    assert response.status_code == 409
    assert "closed" in error_of(response)["message"]


def test_a_manager_party_from_another_agency_sees_the_case_listed_and_whole(
    api, world, now
) -> None:
    case = new_case(world, now)
    assert api.get(f"/cases/{case.id}", "police_manager").status_code == 404
    manager = world["police_manager"]
    stored = db.session.get(Case, case.id)
    stored.parties.append(CaseParty(user=manager, user_id=manager.id, joined_at=now, how="named"))
    db.session.commit()
    assert api.get(f"/cases/{case.id}", "police_manager").status_code == 200
    listed = api.get("/cases", "police_manager").get_json()
    assert [c["reference"] for c in listed["items"]] == [case.reference]
