"""Every group of controls is named by its question, read from Chromium's accessibility tree
(what a screen reader announces), on the raise pages and the case's forms."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.services import accounts, cases

from .conftest import Pages, unnamed_controls
from .test_journey import people as people_fixture
from .test_journey import sign_in

people = people_fixture  # the demo-like users, as a fixture of this module too

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def group(page: Page, question: str):  # type: ignore[no-untyped-def]
    """The fieldset a screen reader announces by its question."""
    found = page.get_by_role("group", name=question, exact=True)
    expect(found).to_be_visible()
    return found


def test_every_question_is_the_name_of_its_group(
    page: Page, live_server: str, people: dict[str, str], pages: Pages, app: Flask
) -> None:
    sign_in(page, live_server, people["sam"])
    page.goto(f"{live_server}/raise/risk")
    risk = group(page, "Is a child at immediate risk of significant harm?")
    expect(risk.get_by_role("radio", name="Yes")).to_be_visible()
    expect(risk.get_by_role("radio", name="No")).to_be_visible()
    pages.check(page, "risk question named")
    risk.get_by_role("radio", name="Yes").check()
    page.get_by_role("button", name="Continue").click()

    referral = group(page, "When did you make the referral?")
    for box in ("Day", "Month", "Year"):
        expect(referral.get_by_role("textbox", name=box)).to_be_visible()
    pages.check(page, "referral date named")

    page.goto(f"{live_server}/raise/agencies")
    agencies = group(page, "Which agencies do you disagree with?")
    agencies.get_by_role("checkbox", name="Community Health Services").check()
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("heading", name="Who at these agencies do you disagree with?")
    ).to_be_visible()
    # Health has no lead here, so someone there must be named for it to hear of the case.
    page.get_by_label("Who at these agencies do you disagree with? (optional)").fill("Pri")
    page.get_by_role("option", name="Priya Shah (Community Health Services, practitioner)").click()
    page.get_by_role("button", name="Continue").click()

    about = group(page, "What is the disagreement about?")
    expect(about.get_by_role("radio", name="Threshold or referral decision")).to_be_visible()
    if page.locator("input[name=workflow][type=radio]").count():
        group(page, "Which process does this follow?")
    assert unnamed_controls(page) == []

    # The forms of a case: the kind of record, an action's date, a timescale, learning themes.
    now = real_now()
    with app.app_context():
        sam = accounts.find_user(db.session(), service_context(now), people["sam"]).id
        case = cases.raise_case(
            db.session(), service_context(now), sam, child_ref="CS-4021", category="threshold",
            summary="Whether the threshold is met.", with_agencies=["HEALTH"],
            with_people=[people["priya"]],  # Health has no lead here: Priya is who hears of it
        )  # fmt: skip
        case_id = case.id
    page.goto(f"{live_server}/cases/{case_id}/records/new")
    kind = group(page, "What kind of record is this?")
    expect(kind.get_by_role("radio", name="A discussion")).to_be_visible()
    due = group(page, "If it is an action, when is it due?")
    expect(due.get_by_role("textbox", name="Day")).to_be_visible()
    pages.check(page, "record kind and due date named")

    page.goto(f"{live_server}/cases/{case_id}/timescale")
    timescale = group(page, "When should this level be decided by?")
    expect(timescale.get_by_role("textbox", name="Year")).to_be_visible()
    pages.check(page, "timescale date named")

    page.goto(f"{live_server}/cases/{case_id}/actions/resolve")
    themes = group(page, "Learning themes (optional)")
    expect(themes.get_by_role("checkbox", name="Information sharing")).to_be_visible()
    pages.check(page, "learning themes named")
