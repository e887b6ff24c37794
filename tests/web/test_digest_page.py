"""How you get e-mails: a manager or lead chooses the daily digest on a page in the header; a
practitioner is not offered it."""

from __future__ import annotations

import re

from resolution.extensions import db
from resolution.models import User

from .conftest import check_page, csrf_token

LEGEND = re.compile(
    r"<legend[^>]*>\s*How do you want to get e-mails about your agency&#39;s cases\?\s*</legend>"
)


def test_a_lead_chooses_one_email_a_day_and_is_told_to_choose_one(world, as_user) -> None:
    lead = as_user(world["health_lead"])
    start = lead.get("/cases").get_data(as_text=True)
    assert 'href="/account/email"' in start and "How you get e-mails" in start
    page = lead.get("/account/email")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and check_page(html).startswith("How you get e-mails")
    assert LEGEND.search(html), "the question is the radios' legend"
    assert "One e-mail a day" in html and "An e-mail for each change" in html
    assert 'value="each" checked' in html and 'value="daily" checked' not in html

    token = csrf_token(lead, "/account/email")
    refused = lead.post("/account/email", data={"csrf_token": token})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and check_page(text).startswith("Error: How you get e-mails")
    assert "There is a problem" in text and "Select how you want to get e-mails" in text
    assert 'href="#how"' in text  # the summary links to the question
    assert not db.session.get(User, world["health_lead"].id).digest

    chosen = lead.post(
        "/account/email", data={"csrf_token": token, "how": "daily"}, follow_redirects=True
    )
    assert chosen.status_code == 200 and "You will get one e-mail a day" in chosen.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(User, world["health_lead"].id).digest
    again = lead.get("/account/email").get_data(as_text=True)
    assert 'value="daily" checked' in again and 'value="each" checked' not in again

    lead.post("/account/email", data={"csrf_token": token, "how": "each"})
    db.session.expire_all()
    assert not db.session.get(User, world["health_lead"].id).digest


def test_a_practitioner_is_not_offered_the_digest(world, as_user) -> None:
    practitioner = as_user(world["health_practitioner"])
    assert "/account/email" not in practitioner.get("/cases").get_data(as_text=True)
    assert practitioner.get("/account/email").status_code == 403
    token = csrf_token(practitioner, "/account/password")
    refused = practitioner.post("/account/email", data={"csrf_token": token, "how": "daily"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert not db.session.get(User, world["health_practitioner"].id).digest
