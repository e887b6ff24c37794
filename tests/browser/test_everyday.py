"""The everyday steps in a real browser: an agreed action marked done, a proposed timescale
declined, and a proposed closing declined; each page checked with axe and on a narrow screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.models import User
from resolution.services import cases, timescales
from tests import factories

from .conftest import Pages
from .test_journey import open_case, people, sign_in, sign_out  # noqa: F401 (people: a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def _id(email: str) -> int:
    user = db.session.query(User).filter_by(email=email).one()
    return user.id


def test_an_action_done_a_timescale_and_a_closing_declined_through_the_pages(
    page: Page,
    live_server: str,
    people: dict[str, str],  # noqa: F811 (the fixture imported above)
    pages: Pages,
) -> None:
    now = real_now()
    sam = _id(people["sam"])
    case = cases.raise_case(
        db.session(), service_context(now), sam, child_ref="CS-445566", category="threshold",
        summary="Whether the threshold is met.", with_agencies=["HEALTH"],
        with_people=[people["priya"]],
    )  # fmt: skip
    cases.add_record(
        db.session(), service_context(now), sam, case.id, kind="action",
        text="CSC to send the referral notes to health.", action_due=factories.working_day(now, 3),
    )  # fmt: skip
    timescales.propose_timescale(
        db.session(), service_context(now), sam, case.id,
        due_at=factories.working_day(now, 12), reason="Waiting for the notes.",
    )  # fmt: skip

    sign_in(page, live_server, people["priya"])
    open_case(page, case.reference)
    expect(page.get_by_role("heading", name="Open actions")).to_be_visible()
    pages.check(page, "case with an open action")
    page.get_by_role("link", name=re.compile(r"^Mark as done")).click()
    expect(page.get_by_role("heading", name="Mark the action as done")).to_be_visible()
    pages.check(page, "mark the action as done")
    page.get_by_label("How was it done? (optional)").fill("Received by e-mail.")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("No agreed action is open.")).to_be_visible()

    page.get_by_role("button", name="Decline the proposed timescale").click()
    expect(page.get_by_role("heading", name="Decline the proposed timescale")).to_be_visible()
    page.get_by_role("button", name="Decline the timescale").click()
    expect(page.get_by_role("link", name="Enter the reason")).to_be_visible()
    pages.check(page, "decline a timescale error")
    page.get_by_label("Why do you decline it?").fill("The notes arrived today.")
    page.get_by_role("button", name="Decline the timescale").click()
    expect(page.get_by_text("was declined by Priya Shah")).to_be_visible()
    pages.check(page, "timescale declined")
    sign_out(page)

    cases.take_action(
        db.session(), service_context(real_now()), sam, case.id, "resolve", record="Agreed.",
        expected_version=None,
        outcome={"text": "CSC will assess."},
    )  # fmt: skip
    sign_in(page, live_server, people["priya"])
    open_case(page, case.reference)
    expect(page.get_by_role("heading", name="A closing is proposed")).to_be_visible()
    page.get_by_role("button", name="Decline it").click()
    expect(page.get_by_role("heading", name="Decline: record that it is resolved")).to_be_visible()
    pages.check(page, "decline a closing")
    page.get_by_label("Why do you decline it?").fill("Health still want a medical.")
    page.get_by_role("button", name="Decline").click()
    expect(page.get_by_role("heading", name="The proposed closing was declined")).to_be_visible()
    pages.check(page, "closing declined")
