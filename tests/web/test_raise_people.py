"""Raising: people picked by name from the chosen agencies, and every agency reaching someone."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Case, User
from resolution.services import accounts

from .conftest import check_page, csrf_token

Client = Callable[[User], FlaskClient]
ABOUT = {"workflow": "leeds-pcrp", "child_ref": "CS-660001", "category": "other", "summary": "S."}


def post(client: FlaskClient, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def test_people_are_picked_by_name_from_the_chosen_agencies(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    assert post(client, "/raise/agencies", {"agencies": ["HEALTH"]}).status_code == 302
    page = client.get("/raise/people").get_data(as_text=True)
    check_page(page)
    tag = re.search(r"<select[^>]*>", page)
    assert tag and 'name="person"' in tag[0] and 'data-module="app-autocomplete"' in tag[0]
    assert ">Health Practitioner (Community Health, practitioner)</option>" in page
    assert ">Csc Practitioner2 (Children&#39;s Social Care, practitioner)</option>" in page
    assert "police_practitioner@example.org" not in page  # not a chosen agency
    assert "csc_practitioner@example.org" not in page  # the raiser
    assert "Community Health: nobody named, so its designated leads" in page
    added = post(
        client, "/raise/people", {"person": "health_practitioner@example.org", "action": "add"}
    )
    assert added.headers["Location"] == "/raise/people"
    post(client, "/raise/people", {"person": "csc_practitioner2@example.org", "action": "add"})
    page = client.get("/raise/people").get_data(as_text=True)
    assert "Community Health: the people you have named" in page
    assert 'value="csc_practitioner2@example.org" name="remove"' in page
    post(client, "/raise/people", {"remove": "csc_practitioner2@example.org"})
    assert (
        post(client, "/raise/people", {"action": "continue"}).headers["Location"] == "/raise/about"
    )
    post(client, "/raise/about", ABOUT)
    check = client.get("/raise/check").get_data(as_text=True)
    assert "Health Practitioner (Community Health)" in check and "Csc Practitioner2" not in check
    post(client, "/raise/check", {})
    case = db.session.scalar(select(Case).where(Case.child_ref == "CS-660001"))
    assert {p.user.email for p in case.parties} == {
        world["csc_practitioner"].email,
        world["health_practitioner"].email,
    }


def test_a_person_not_offered_is_refused(world, as_user: Client) -> None:
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    post(client, "/raise/agencies", {"agencies": ["HEALTH"]})
    for value in ("police_practitioner@example.org", "a\x01@b.org"):
        refused = post(client, "/raise/people", {"person": value, "action": "add"})
        assert refused.status_code == 400
        assert "govuk-error-summary" in refused.get_data(as_text=True)
    empty = post(client, "/raise/people", {"action": "add"})
    assert empty.status_code == 400 and "Choose a person to add" in empty.get_data(as_text=True)


def test_an_agency_nobody_would_hear_from_is_refused_where_chosen_and_at_the_check(
    world, now, as_user: Client
) -> None:
    accounts.create_agency(db.session(), service_context(now), "YOUTH", "Youth Justice")
    client = as_user(world["csc_practitioner"])
    post(client, "/raise/risk", {"risk": "no"})
    post(client, "/raise/agencies", {"agencies": ["YOUTH"]})
    page = client.get("/raise/people").get_data(as_text=True)
    assert "Youth Justice: <strong>nobody</strong>" in page and world["admin"].email in page
    early = post(client, "/raise/people", {"action": "continue"})  # refused where it is chosen
    assert early.status_code == 400
    assert "Nobody at Youth Justice would be told" in early.get_data(as_text=True)
    assert 'href="#person"' in early.get_data(as_text=True)
    # Answers that passed once can still fail at the end: an agency's only lead leaves.
    accounts.create_user(
        db.session(), service_context(now), email="lead@youth.example", name="Yan Lead",
        agency="YOUTH", role="lead", password=None,
    )  # fmt: skip
    assert post(client, "/raise/people", {"action": "continue"}).status_code == 302
    accounts.set_active(db.session(), service_context(now), "lead@youth.example", False)
    post(client, "/raise/about", ABOUT)
    refused = post(client, "/raise/check", {})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "nobody at Youth Justice would be told" in html
    assert 'href="/raise/people?change=1"' in html  # where to put it right
    shown = client.get("/raise/people?change=1").get_data(as_text=True)
    assert "Nobody at Youth Justice would be told" in shown  # the link shows the error
    assert db.session.scalar(select(Case.id)) is None
