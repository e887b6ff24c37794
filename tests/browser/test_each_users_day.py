"""Each demo user's day in a real browser: every page of their navigation, a case, and their
forms, checked by `Pages.check` (axe at WCAG 2.2 AA, every control named by its question, whole
words at 375 px) and kept as screenshots, one folder per user."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from resolution.context import service_context
from resolution.demo import USERS, load_demo

from .conftest import Pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]
ROLES = ("practitioner", "manager", "lead", "partnership", "auditor", "admin")


@pytest.fixture
def demo(app: Flask) -> dict[str, str]:
    return load_demo(service_context())


@pytest.mark.parametrize("role", ROLES)
def test_a_users_day(page: Page, live_server: str, pages: Pages, demo: dict, role: str) -> None:
    email = next(e for e, _, _, r in USERS if r == role)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(demo[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    nav = page.get_by_role("navigation").first
    links = [
        name
        for name in nav.get_by_role("link").all_inner_texts()
        if name.strip() not in ("Change password", "Resolve a professional disagreement")
    ]
    assert links, role
    for name in links:
        nav.get_by_role("link", name=name.strip(), exact=True).click()
        pages.check(page, name)
    if role in ("practitioner", "manager", "lead", "partnership"):
        page.goto(
            f"{live_server}/cases" if role != "partnership" else f"{live_server}/overdue?show=all"
        )
    cases = page.locator("main a[href^='/cases/']")
    if role in ("practitioner", "manager", "lead", "partnership"):
        assert cases.count(), role
        cases.first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Case RC-")
        pages.check(page, "a case")
        forms = page.locator("main a.govuk-button[href*='/cases/']")
        for index in range(forms.count()):
            href = forms.nth(index).get_attribute("href")
            page.goto(f"{live_server}{href}")
            pages.check(page, f"form {index + 1}")
            page.go_back()
    if role == "admin":
        for path in ("/admin/users/new", "/admin/agencies/new"):
            page.goto(f"{live_server}{path}")
            pages.check(page, path)
