"""The pages that bring people and agencies into a case and hand a part over (no JavaScript)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Outbox, User
from resolution.services import cases
from tests import factories

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]


def test_a_party_adds_an_agency_and_picks_a_person_by_name(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now)
    client = as_user(world["csc_practitioner"])
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/parties"' in shown
    page = client.get(f"/cases/{case.id}/parties").get_data(as_text=True)
    check_page(page)
    assert 'data-module="app-autocomplete"' in page  # enhanced when JavaScript runs
    assert '<option value="csc_practitioner2@example.org">Csc Practitioner2 (' in page
    assert "police_practitioner@example.org" not in page  # not of an agency on the case
    token = csrf_token(client, f"/cases/{case.id}/parties")
    done = client.post(
        f"/cases/{case.id}/parties",
        data={"csrf_token": token, "version": str(case.version), "agencies": ["POLICE"],
              "person": "csc_practitioner2@example.org"},
    )  # fmt: skip
    assert done.status_code == 302
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Police" in html and "Csc Practitioner2" in html
    told = set(db.session.scalars(select(Outbox.to_email).where(Outbox.kind == "parties_added")))
    assert told == {"csc_practitioner2@example.org", world["police_lead"].email}


def test_the_add_page_refuses_nothing_with_an_error_summary(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now)
    client = as_user(world["csc_practitioner"])
    token = csrf_token(client, f"/cases/{case.id}/parties")
    answer = client.post(
        f"/cases/{case.id}/parties", data={"csrf_token": token, "version": str(case.version)}
    )
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert "govuk-error-summary" in html and "Name at least one agency or person" in html
    assert as_user(world["auditor"]).get(f"/cases/{case.id}/parties").status_code == 403


def test_only_a_manager_or_lead_of_the_agency_is_offered_the_hand_over(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    for name, offered in [
        ("csc_manager", True),
        ("health_lead", True),
        ("csc_practitioner", False),
    ]:
        html = as_user(world[name]).get(f"/cases/{case.id}").get_data(as_text=True)
        assert (f'href="/cases/{case.id}/handover"' in html) is offered, name
    assert as_user(world["csc_practitioner"]).get(f"/cases/{case.id}/handover").status_code == 403
    client = as_user(world["csc_manager"])
    page = client.get(f"/cases/{case.id}/handover").get_data(as_text=True)
    check_page(page)
    assert "health_practitioner@example.org" not in page  # only their own agency's people
    token = csrf_token(client, f"/cases/{case.id}/handover")
    missing = client.post(
        f"/cases/{case.id}/handover",
        data={"csrf_token": token, "version": str(case.version), "leaving": "csc_practitioner@example.org"},
    )  # fmt: skip
    assert missing.status_code == 400 and "Choose who takes it over" in missing.get_data(
        as_text=True
    )
    done = client.post(
        f"/cases/{case.id}/handover",
        data={"csrf_token": token, "version": str(case.version),
              "leaving": "csc_practitioner@example.org",
              "joining": "csc_practitioner2@example.org", "reason": "Has left the service."},
    )  # fmt: skip
    assert done.status_code == 302
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    names = [world[n].name for n in ("csc_manager", "csc_practitioner", "csc_practitioner2")]
    said = "{} handed {}&#39;s part over to {}: Has left the service.".format(*names)
    assert said in html, html  # named, though neither the manager nor the leaver is a party now
    assert as_user(world["csc_practitioner"]).get(f"/cases/{case.id}").status_code == 404


def test_a_stale_hand_over_says_what_changed_and_can_be_sent_again(
    world, now, as_user: Client
) -> None:
    case = factories.make_case(world, now)
    client = as_user(world["csc_manager"])
    token = csrf_token(client, f"/cases/{case.id}/handover")
    opened_at = case.version
    cases.add_record(
        db.session(), service_context(now), world["health_practitioner"].id, case.id,
        kind="note", text="A note meanwhile.",
    )  # fmt: skip
    form = {
        "csrf_token": token, "leaving": "csc_practitioner@example.org",
        "joining": "csc_practitioner2@example.org", "reason": "Has left the service.",
    }  # fmt: skip
    stale = client.post(f"/cases/{case.id}/handover", data={**form, "version": str(opened_at)})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "This case changed while you were on this page" in html
    assert f"{world['health_practitioner'].name} added a note to the record" in html
    fresh = re.search(r'name="version" type="hidden" value="(\d+)"', html) or re.search(
        r'name="version" value="(\d+)"', html
    )
    assert fresh and int(fresh.group(1)) == opened_at + 1
    again = client.post(f"/cases/{case.id}/handover", data={**form, "version": fresh.group(1)})
    assert again.status_code == 302
