"""Passwords: the rules they must meet, and what setting or changing one ends."""

from __future__ import annotations

from datetime import datetime

import pytest

from resolution.context import service_context
from resolution.extensions import db
from resolution.services import accounts
from resolution.services.errors import Invalid
from tests import factories


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12 characters"),
        ("x" * 201, "at most 200 characters"),
        ("aaaaaaaaaaaa", "not one character repeated"),
        ("passwordpassword", "harder to guess"),
        ("123456789012", "harder to guess"),
        ("qwertyuiop12", "harder to guess"),
        ("iloveyou2024", "harder to guess"),
        ("manchesterunited", "harder to guess"),
        ("sam.taylor@example.org", "not your email address"),
        ("SAM.TAYLOR@example.org", "not your email address"),
    ],
)
def test_a_weak_password_is_refused_saying_what_to_do(password: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        accounts.validate_password(password, "sam.taylor@example.org")
    assert message in refused.value.fields["password"][0]


def test_the_local_part_of_the_email_is_refused_on_its_own() -> None:
    with pytest.raises(Invalid, match="not your email address"):
        accounts.validate_password("samantha.taylor", "samantha.taylor@example.org")


@pytest.mark.parametrize(
    "password",
    [factories.PASSWORD, "a long enough password", "xK9#mq2Lp0vz", "the kettle sings at dawn " * 7],
)
def test_a_good_password_is_accepted(password: str) -> None:
    accounts.validate_password(password, "sam.taylor@example.org")


def test_creating_a_user_checks_the_password_against_their_email(app, now: datetime) -> None:
    accounts.create_agency(db.session(), service_context(now), "CSC", "Children's Social Care")
    with pytest.raises(Invalid, match="not your email address"):
        factories.make_user("jo.bloggs.worker", "CSC", "practitioner", now, "jo.bloggs.worker")


@pytest.fixture
def sam(app, now: datetime):
    accounts.create_agency(db.session(), service_context(now), "CSC", "Children's Social Care")
    return factories.make_user("sam", "CSC", "practitioner", now, password=factories.PASSWORD)


def test_a_reset_revokes_the_users_api_tokens(sam, now: datetime) -> None:
    ctx = service_context(now)
    token = accounts.issue_token(db.session(), ctx, sam.email, days=30)
    assert accounts.user_for_token(db.session(), ctx, token) is not None
    accounts.set_password(db.session(), ctx, sam.email, "another long password", actor="admin")
    assert accounts.user_for_token(db.session(), ctx, token) is None


def test_a_change_needs_the_current_password_and_revokes_tokens(sam, now: datetime) -> None:
    ctx = service_context(now)
    token = accounts.issue_token(db.session(), ctx, sam.email, days=30)
    epoch = sam.session_epoch
    with pytest.raises(Invalid, match="current password"):
        accounts.change_password(
            db.session(), ctx, sam.id, "not it at all", "a new long passphrase"
        )
    with pytest.raises(Invalid, match="not your current one"):
        accounts.change_password(db.session(), ctx, sam.id, factories.PASSWORD, factories.PASSWORD)
    with pytest.raises(Invalid, match="harder to guess"):
        accounts.change_password(db.session(), ctx, sam.id, factories.PASSWORD, "passwordpassword")
    assert accounts.user_for_token(db.session(), ctx, token) is not None  # nothing changed yet
    user = accounts.change_password(
        db.session(), ctx, sam.id, factories.PASSWORD, "a new long passphrase"
    )
    assert user.session_epoch == epoch + 1
    assert accounts.user_for_token(db.session(), ctx, token) is None
    assert accounts.check_password(db.session(), ctx, sam.email, "a new long passphrase")
    assert accounts.check_password(db.session(), ctx, sam.email, factories.PASSWORD) is None


def test_a_failed_sign_in_is_named_by_a_known_account_only(sam, now: datetime) -> None:
    ctx = service_context(now)
    assert accounts.sign_in_name(db.session(), ctx, " SAM@Example.org ") == sam.email
    assert accounts.sign_in_name(db.session(), ctx, "nobody@example.org") == "unknown"
    assert accounts.sign_in_name(db.session(), ctx, factories.PASSWORD) == "unknown"
