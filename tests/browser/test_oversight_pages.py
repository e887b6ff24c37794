"""The auditor's pages in a real browser: the figures with their charts, the filtered outcome
log and the access log, each checked with axe-core at WCAG 2.2 AA and on a narrow screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.services import accounts, cases
from tests import factories

from .conftest import Pages
from .test_journey import PASSWORD, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def closed_cases(app: Flask) -> list[str]:
    """Two agencies, an auditor, and two closed cases (one resolved with themes, one withdrawn)."""
    now = real_now() - timedelta(hours=2)
    for code, name in (("CSC", "Children's Social Work Service"), ("HEALTH", "Community Health")):
        accounts.create_agency(  # nobody of Health is named: its team address is told
            db.session(), service_context(now), code, name, contact_email="team@health.example"
        )
    accounts.create_agency(db.session(), service_context(now), "PART", "Safeguarding Partnership")
    sam = accounts.create_user(db.session(), service_context(now),
        email="sam@csc.example", name="Sam Okafor", agency="CSC", role="practitioner",
        password=PASSWORD,
    )  # fmt: skip
    accounts.create_user(db.session(), service_context(now),
        email="olu@partnership.example", name="Olu Adeyemi", agency="PART", role="auditor",
        password=PASSWORD,
    )  # fmt: skip
    accounts.create_user(db.session(), service_context(now),
        email="priya@health.example", name="Priya Shah", agency="HEALTH", role="practitioner",
        password=None,
    )  # fmt: skip
    refs = []
    for i, (action, themes) in enumerate((("resolve", ["neglect"]), ("withdraw", []))):
        case = cases.raise_case(db.session(),
            service_context(now), sam.id, child_ref=f"CS-77{i}", category="threshold",
            summary="Whether the threshold is met.", with_agencies=["HEALTH"],
            with_people=["priya@health.example"],
        )  # fmt: skip
        cases.take_action(db.session(),
            service_context(now + timedelta(minutes=30)), sam.id, case.id, action,
            record="Agreed by phone.", expected_version=case.version,
            outcome={"text": "Settled."},
            learning={"text": "Talk early.", "themes": themes} if themes else None,
        )  # fmt: skip
        closed = factories.agree(now + timedelta(minutes=30), case.id)  # Health confirms
        refs.append(closed.reference)
    return refs


def test_an_auditor_reads_figures_outcomes_and_the_access_log(
    page: Page, live_server: str, pages: Pages, closed_cases: list[str]
) -> None:
    sign_in(page, live_server, "olu@partnership.example")
    page.get_by_role("link", name="Figures").click()
    expect(page.get_by_role("heading", name="Annual-report figures", level=1)).to_be_visible()
    # The chart's text alternative names every value; the values are also written on the bars.
    expect(page.get_by_role("img", name="Learning themes Neglect: 1")).to_be_visible()
    themes = page.get_by_role("table", name="Learning themes: the data")
    expect(themes.get_by_role("row", name="Neglect 1")).to_be_visible()
    pages.check(page, "figures")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures as CSV").click()
    figures_csv = download.value.path().read_text(encoding="utf-8-sig")
    assert "disagreements raised,,count,2" in figures_csv
    assert figures_csv.splitlines()[0].endswith(",chain_seq,chain_digest")
    start = page.get_by_role("group", name="From (first day)")
    start.get_by_role("textbox", name="Day").fill("31")
    start.get_by_role("textbox", name="Month").fill("2")
    start.get_by_role("textbox", name="Year").fill("2026")
    page.get_by_role("button", name="Show figures for this period").click()
    error = page.get_by_role("link", name="Enter a real start date as day, month and year")
    expect(error).to_be_visible()
    pages.check(page, "figures with an error")
    error.click()
    expect(start.get_by_role("textbox", name="Day")).to_be_focused()

    page.get_by_role("link", name="Outcome log").click()
    page.get_by_label("Outcome").select_option("withdrawn")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("cell", name=closed_cases[1], exact=False)).to_be_visible()
    expect(page.get_by_text(closed_cases[0])).to_have_count(0)
    pages.check(page, "outcome log filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the outcome log as CSV").click()
    log_csv = download.value.path().read_text(encoding="utf-8-sig")
    assert closed_cases[1] in log_csv and closed_cases[0] not in log_csv  # filtered as shown
    assert log_csv.splitlines()[0].endswith(",chain_seq,chain_digest")

    page.get_by_role("link", name="Who looked at what").click()
    expect(page.get_by_role("heading", name="Who looked at what", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="figures viewed").first).to_be_visible()
    exported = page.get_by_role("row").filter(has_text="exported")
    expect(exported.filter(has_text="outcomes?outcome=withdrawn")).to_have_count(1)
    pages.check(page, "access log")
    page.get_by_label("Kind").select_option("signed_in")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("cell", name="olu@partnership.example").first).to_be_visible()
    pages.check(page, "access log filtered")
    # Each page has its own title; the filtered access log keeps the access log's.
    service = pages.titles and next(iter(pages.titles)).split(" – ")[1]
    assert pages.titles == {
        f"Annual-report figures – {service}": "figures",
        f"Error: Annual-report figures – {service}": "figures with an error",
        f"Outcome log – {service}": "outcome log filtered",
        f"Who looked at what – {service}": "access log",
    }
