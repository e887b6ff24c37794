"""With the demonstration data loaded, every page has something real to show for its users."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from resolution.context import service_context
from resolution.demo import USERS, load_demo
from resolution.extensions import db
from resolution.models import Case, User

from .conftest import check_page

Client = Callable[[User], FlaskClient]


def user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def test_every_page_shows_demo_data_to_its_users(app, as_user: Client) -> None:
    load_demo(service_context())
    emails = {role: email for email, _, _, role in reversed(USERS)}
    sam = as_user(user(USERS[0][0]))
    mine = sam.get("/cases").get_data(as_text=True)
    check_page(mine)
    assert "Waiting on you" in mine and "Recently closed" in mine
    for case in db.session.scalars(select(Case)):
        for email in (USERS[7][0], USERS[8][0]):  # the partnership and the auditor see every case
            page = as_user(user(email)).get(f"/cases/{case.id}")
            assert page.status_code == 200
            check_page(page.get_data(as_text=True))
    manager = as_user(user(emails["manager"])).get("/overdue?show=all").get_data(as_text=True)
    assert "RC-" in manager
    log = as_user(user(emails["auditor"])).get("/outcomes").get_data(as_text=True)
    assert log.count("RC-") >= 3 and "the hash chain is intact" in log
    admin = as_user(user(emails["admin"])).get("/admin").get_data(as_text=True)
    assert "Sam Okafor" in admin and "leeds-pcrp" in admin
