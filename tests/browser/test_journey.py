"""The whole journey in a real browser, by clicking and typing as a person would.

A practitioner raises a disagreement; the other agency's practitioner reads it
and accepts the timescale; the practitioner escalates; the manager escalates;
the designated lead resolves it with an outcome and learning themes; the
auditor finds it in the outcome log and downloads the CSV. Every page reached
is checked with axe-core at WCAG 2.2 AA and kept as a screenshot.
"""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.services import accounts
from tests import factories

from .conftest import Pages

PASSWORD = "a long password for tests"
pytestmark = [
    pytest.mark.browser,
    # pytest-base-url (from pytest-playwright) declares a fixture as pytest 9 deprecates.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PEOPLE = {
    "sam": ("sam@csc.example", "Sam Okafor", "CSC", "practitioner"),
    "priya": ("priya@health.example", "Priya Shah", "HEALTH", "practitioner"),
    "maria": ("maria@csc.example", "Maria Novak", "CSC", "manager"),
    "aisha": ("aisha@csc.example", "Aisha Rahman", "CSC", "lead"),
    "olu": ("olu@partnership.example", "Olu Adeyemi", "PART", "auditor"),
}


@pytest.fixture
def people(app: Flask) -> dict[str, str]:
    now = real_now()
    for code, name in (
        ("CSC", "Children's Social Work Service"),
        ("HEALTH", "Community Health Services"),
        ("PART", "Safeguarding Partnership"),
    ):
        accounts.create_agency(db.session(), service_context(now), code, name)
    for email, name, agency, role in PEOPLE.values():
        accounts.create_user(
            db.session(),
            service_context(now),
            email=email,
            name=name,
            agency=agency,
            role=role,
            password=PASSWORD,
        )
    return {key: value[0] for key, value in PEOPLE.items()}


def sign_in(page: Page, base: str, email: str, pages: Pages | None = None, name: str = "") -> None:
    page.goto(f"{base}/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()


def open_case(page: Page, reference: str) -> None:
    page.get_by_role("link", name="Your cases").click()
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Case {reference}", level=1)).to_be_visible()


def fill_date(page: Page, day: object, month: object, year: object) -> None:
    page.get_by_label("Day").fill(str(day))
    page.get_by_label("Month").fill(str(month))
    page.get_by_label("Year").fill(str(year))


def test_a_disagreement_from_raising_to_the_outcome_log(
    page: Page, live_server: str, people: dict[str, str], pages: Pages
) -> None:
    base = live_server

    # Sam, a practitioner in children's social care, signs in (after one typing mistake).
    page.goto(base)
    pages.check(page, "sign in")
    page.get_by_label("Email address", exact=True).fill(people["sam"])
    page.get_by_label("Password", exact=True).fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter a correct email address and password").first).to_be_visible()
    pages.check(page, "sign in failed")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your cases")).to_be_visible()
    pages.check(page, "your cases empty")

    # Sam raises the disagreement, question by question.
    page.get_by_role("button", name="Raise a disagreement").click()
    expect(page.get_by_text("Emergency Duty Team")).to_be_visible()
    pages.check(page, "immediate risk question")
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("link", name="Select yes if a child is at immediate risk")
    ).to_be_visible()
    pages.check(page, "immediate risk error")
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Which agencies do you disagree with?")).to_be_visible()
    pages.check(page, "agencies question")
    page.get_by_label("Community Health Services").check()
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("heading", name="Who at these agencies do you disagree with?")
    ).to_be_visible()
    pages.check(page, "people question")
    # accessible-autocomplete has replaced the select with a type-ahead of the same label.
    page.get_by_label("Who at these agencies do you disagree with? (optional)").fill("Pri")
    page.get_by_role("option", name="Priya Shah (Community Health Services, practitioner)").click()
    page.get_by_role("button", name="Add this person").click()
    expect(page.locator("#named-people")).to_contain_text("Priya Shah")
    pages.check(page, "people named")
    page.get_by_role("button", name="Continue").click()
    pages.check(page, "about question")
    page.get_by_role("button", name="Continue").click()
    pages.check(page, "about question errors")
    page.get_by_role("link", name="Enter the case reference").click()
    expect(page.get_by_label("Case reference")).to_be_focused()
    page.get_by_label("Case reference").fill("CS-778812")
    page.get_by_label("Threshold or referral decision").check()
    page.get_by_label("Describe the disagreement").fill(
        "Health consider the referral meets the threshold for an assessment; "
        "the front door decided on early help."
    )
    page.get_by_role("button", name="Continue").click()
    expect(
        page.get_by_role("heading", name="Check your answers before raising the disagreement")
    ).to_be_visible()
    pages.check(page, "check your answers")
    page.get_by_role("button", name="Raise the disagreement").click()
    expect(page.get_by_text("Disagreement raised: your reference is")).to_be_visible()
    reference = page.locator("h1").inner_text().removeprefix("Case ").strip()
    pages.check(page, "case raised")

    # Sam writes down the conversation and proposes a timescale.
    page.get_by_role("button", name="Add a record").click()
    pages.check(page, "add a record")
    page.get_by_label("A discussion").check()
    page.get_by_label("Record", exact=True).fill(
        "Spoke by phone with Priya. Health will send the chronology."
    )
    page.get_by_role("button", name="Add to the record").click()
    page.get_by_role("button", name="Propose a timescale").click()
    pages.check(page, "propose a timescale")
    due = factories.working_day(real_now(), 14).date()
    fill_date(page, due.day, due.month, due.year)
    page.get_by_label("Why this timescale?").fill("Waiting for the health visitor's chronology")
    page.get_by_role("button", name="Propose this timescale").click()
    expect(page.get_by_text("Proposed by Sam Okafor")).to_be_visible()
    pages.check(page, "timescale proposed")
    sign_out(page)

    # Priya, the health practitioner, reads the record and accepts the timescale.
    sign_in(page, base, people["priya"])
    expect(page.get_by_role("table", name="Waiting on you")).to_contain_text(reference)
    pages.check(page, "priya your cases")
    open_case(page, reference)
    pages.check(page, "priya case")
    page.get_by_role("button", name="Mark as read").click()
    expect(page.get_by_text("Read by Priya Shah")).to_be_visible()
    page.get_by_role("button", name="Accept the proposed timescale").click()
    expect(page.get_by_text("Agreed by Sam Okafor and Priya Shah")).to_be_visible()
    pages.check(page, "timescale agreed")
    sign_out(page)

    # Sam escalates to the managers.
    sign_in(page, base, people["sam"])
    open_case(page, reference)
    page.get_by_role("button", name="Escalate to the next level").click()
    pages.check(page, "escalate")
    page.get_by_role("button", name="Escalate to the next level").click()
    expect(page.get_by_role("link", name="Enter a record of the decision")).to_be_visible()
    pages.check(page, "escalate error")
    page.get_by_label("Record of the decision").fill(
        "The chronology did not change the front door's view."
    )
    page.get_by_role("button", name="Escalate to the next level").click()
    expect(page.get_by_text("Level 2: First-line managers").first).to_be_visible()
    pages.check(page, "at the managers")
    sign_out(page)

    # Maria, the CSC manager, looks at what is due, then escalates to the leads.
    sign_in(page, base, people["maria"])
    page.get_by_role("link", name="Overdue and due soon").click()
    page.get_by_label("Show").select_option("all")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("table")).to_contain_text(reference)
    pages.check(page, "overdue and due soon")
    open_case(page, reference)
    page.get_by_role("button", name="Escalate to the next level").click()
    page.get_by_label("Record of the decision").fill(
        "Managers could not agree: to the designated leads."
    )
    page.get_by_role("button", name="Escalate to the next level").click()
    expect(page.get_by_text("Level 3: Designated leads and senior managers").first).to_be_visible()
    sign_out(page)

    # Aisha, the designated lead, resolves it with the outcome and the learning.
    sign_in(page, base, people["aisha"])
    open_case(page, reference)
    pages.check(page, "at the leads")
    page.get_by_role("button", name="Record that it is resolved").click()
    expect(page.get_by_role("heading", name="Record that it is resolved")).to_be_visible()
    pages.check(page, "resolve")
    page.get_by_label("Record of the decision").fill("Leads met and agreed an assessment.")
    page.get_by_label("Outcome").fill("CSC will open a child and family assessment.")
    page.get_by_label("Learning identified").fill("Share chronologies at the point of referral.")
    page.get_by_label("Information sharing").check()
    page.get_by_label("Understanding of thresholds").check()
    page.get_by_role("button", name="Record that it is resolved").click()
    expect(page.get_by_role("heading", name="A closing is proposed")).to_be_visible()
    pages.check(page, "closing proposed")
    sign_out(page)

    # Priya, of the other agency, confirms it: nobody closes a disagreement alone.
    sign_in(page, base, people["priya"])
    open_case(page, reference)
    page.get_by_role("button", name="Confirm: record that it is resolved").click()
    expect(page.get_by_text("This case is closed: resolved")).to_be_visible()
    expect(page.get_by_text("Information sharing, Understanding of thresholds")).to_be_visible()
    pages.check(page, "resolved")
    sign_out(page)

    # Olu, the auditor, finds it in the outcome log and downloads the CSV.
    sign_in(page, base, people["olu"])
    expect(page.get_by_role("heading", name="Outcome log", level=1)).to_be_visible()
    expect(page.get_by_text("intact")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(reference)
    pages.check(page, "outcome log")
    page.get_by_label("Agency").select_option("HEALTH")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("table")).to_contain_text(reference)
    pages.check(page, "outcome log filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the outcome log as CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [row for row in rows if reference in row.values()]
    assert len(mine) == 1
    assert "resolved" in mine[0].values()
    assert any(
        "information_sharing" in value or "Information sharing" in value
        for value in mine[0].values()
    )
    sign_out(page)


def test_the_pages_work_without_javascript(
    browser, live_server: str, people: dict[str, str], pages: Pages
) -> None:
    context = browser.new_context(java_script_enabled=False, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, people["sam"])
        page.get_by_role("link", name="Raise a disagreement").first.click()
        page.get_by_label("No", exact=True).check()
        page.get_by_role("button", name="Continue").click()
        expect(
            page.get_by_role("heading", name="Which agencies do you disagree with?")
        ).to_be_visible()
        page.get_by_label("Community Health Services").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Who at these agencies do you disagree with? (optional)").select_option(
            label="Priya Shah (Community Health Services, practitioner)"
        )
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Case reference").fill("CS-NOJS-1")
        page.get_by_label("Other", exact=True).check()
        page.get_by_label("Describe the disagreement").fill("Raised with JavaScript turned off.")
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Raise the disagreement").click()
        expect(page.get_by_text("Disagreement raised")).to_be_visible()
        sign_out(page)
    finally:
        context.close()


def test_govuk_frontend_starts_under_the_content_security_policy(browser, live_server: str) -> None:
    context = browser.new_context()  # no CSP bypass here
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        page.goto(f"{live_server}/sign-in")
        expect(page.locator("body")).to_have_class(
            "govuk-template__body js-enabled govuk-frontend-supported"
        )
        page.wait_for_function(
            "document.querySelector('[data-module=\"govuk-service-navigation\"]') !== null"
        )
        assert (
            page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily").find(
                "GDS Transport"
            )
            >= 0
        )
        assert refused == []
    finally:
        context.close()
