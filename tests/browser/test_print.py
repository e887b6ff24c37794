"""Finding a case and putting it on paper in a real browser: the search box, the print page
(checked with axe), and the print stylesheet leaving off the navigation and buttons."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Pages
from .test_journey import sign_in
from .test_oversight_pages import closed_cases  # noqa: F401 (a fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def test_an_auditor_finds_a_case_and_prints_its_record(
    page: Page,
    live_server: str,
    pages: Pages,
    closed_cases: list[str],  # noqa: F811
) -> None:
    sign_in(page, live_server, "olu@partnership.example")
    page.get_by_label("Find a case").fill("cs-770")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("1 case matching")).to_be_visible()
    pages.check(page, "search results")
    page.get_by_role("link", name=closed_cases[0]).click()
    expect(page.get_by_role("heading", name=f"Case {closed_cases[0]}", level=1)).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()
    expect(page.get_by_role("link", name="print the whole record")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="print the whole record").click()
    expect(page.get_by_role("button", name="Print this record")).to_be_visible()  # JavaScript ran
    expect(page.locator("#paper-digest")).to_contain_text("chain digest")
    pages.check(page, "print page")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print this record")).to_be_hidden()
    expect(page.get_by_role("button", name="Download as PDF")).to_be_hidden()
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()
    expect(page.get_by_text("Agreed by phone.")).to_be_visible()  # the record itself stays
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with page.expect_download() as download:
        page.emulate_media(media="screen")
        page.get_by_role("button", name="Download as PDF").click()
    assert download.value.suggested_filename == f"{closed_cases[0]}-record.pdf"
