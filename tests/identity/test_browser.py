"""Signing in with an agency's own account in a real Chromium, against the real providers.

The user clicks the provider's button on our sign-in page, chooses who they are on the
provider's own page, and comes back signed in, or to a page that says why not. Our pages
on the way are checked with axe-core (the provider's own pages are not ours to check).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from resolution.context import service_context
from resolution.extensions import db
from resolution.services import accounts

from .conftest import MOCK_WARNINGS, MockProvider

pytestmark = [
    pytest.mark.browser,
    *MOCK_WARNINGS,
    # pytest-base-url (from pytest-playwright) declares a fixture as pytest 9 deprecates.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def at_the_provider(page: Page, sub: str) -> None:
    """Say who we are on the provider's own page (its form takes the subject)."""
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_council_user_signs_in_and_out_with_the_council_account(
    page: Page, live_server: str, pages, world, idps
) -> None:
    council: MockProvider = idps["council"]
    council.person("c-b01", "csc_practitioner@example.org")
    page.goto(f"{live_server}/cases")  # not signed in: sent to sign in, to come back here
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    pages.check(page, "sign in with a provider or a password")
    page.get_by_role("button", name="Sign in with City Council account").click()
    expect(page).to_have_url(re.compile(re.escape(f"{council.issuer}/oauth2/authorize?")))
    at_the_provider(page, "c-b01")
    expect(page.get_by_role("heading", name="Your cases", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You have signed out", level=1)).to_be_visible()
    pages.check(page, "signed out: the provider's sign-out offered")
    page.get_by_role("button", name="Sign out of your City Council account too").click()
    expect(page).to_have_url(re.compile(re.escape(f"{council.issuer}/oauth2/end_session?")))
    page.get_by_role("button").first.click()  # the provider's "end session" confirmation
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    page.goto(f"{live_server}/cases")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()


def deactivate(now: Any) -> None:
    accounts.set_active(db.session(), service_context(now), "csc_lead@example.org", False)


REFUSALS: list[Any] = [
    pytest.param(
        lambda idps: {"iss": idps["health"].issuer}, None, "You have not been signed in", id="iss"
    ),
    pytest.param(
        lambda idps: {"aud": "another-service"}, None, "You have not been signed in", id="aud"
    ),
    pytest.param(
        lambda idps: {"exp": int(time.time()) - 3600},
        None,
        "You have not been signed in",
        id="expired",
    ),
    pytest.param(
        lambda idps: {"email_verified": False},
        None,
        "You cannot sign in to this service",
        id="unverified",
    ),
    pytest.param(
        lambda idps: {"email": "health_practitioner@example.org"},
        None,
        "You cannot sign in to this service",
        id="other-agency",
    ),
    pytest.param(
        lambda idps: {}, deactivate, "You cannot sign in to this service", id="deactivated"
    ),
]


@pytest.mark.parametrize(("claims", "before", "heading"), REFUSALS)
def test_a_refused_sign_in_says_so_and_signs_nobody_in(
    page: Page,
    live_server: str,
    pages,
    world,
    idps,
    now,
    claims: Callable[[dict[str, MockProvider]], dict[str, Any]],
    before: Callable[[Any], None] | None,
    heading: str,
) -> None:
    if before is not None:
        before(now)
    idps["council"].person("c-b02", **{"email": "csc_lead@example.org", **claims(idps)})
    page.goto(f"{live_server}/sign-in")
    page.get_by_role("button", name="Sign in with City Council account").click()
    at_the_provider(page, "c-b02")
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    pages.check(page, f"refused: {heading}")
    page.get_by_role("link", name="Go back to the sign-in page").click()
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    page.goto(f"{live_server}/cases")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()


def test_a_replayed_or_stateless_callback_is_refused_in_the_browser(
    page: Page, live_server: str, world, idps
) -> None:
    idps["council"].person("c-b03", "csc_practitioner@example.org")
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/callback?" in r.url else None)
    page.goto(f"{live_server}/sign-in")
    page.get_by_role("button", name="Sign in with City Council account").click()
    at_the_provider(page, "c-b03")
    expect(page.get_by_role("heading", name="Your cases", level=1)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto(callbacks[0])  # the same answer from the provider, brought back again
    expect(page.get_by_role("heading", name="You have not been signed in", level=1)).to_be_visible()
    without_state = callbacks[0].split("&state=")[0].split("?state=")[0]
    page.goto(without_state)
    expect(page.get_by_role("heading", name="You have not been signed in", level=1)).to_be_visible()
    page.goto(f"{live_server}/cases")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
