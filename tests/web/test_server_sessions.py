"""Sessions kept on the server: ended by signing out for every copy of the cookie, by an
idle and an absolute limit, renewed at sign-in; raise answers kept as the author's draft."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from resolution.account_models import Draft, SignInSession
from resolution.context import service_context
from resolution.extensions import db
from resolution.models import Case
from resolution.scheduler import run_housekeeping
from resolution.services import accounts, signins
from resolution.services import cases as case_service
from resolution.services.errors import Conflict
from tests import factories

from .conftest import csrf_token, sign_in_as

SUMMARY = "Mother says the child sleeps at a neighbour's most nights."


@pytest.fixture
def sam(world, now):
    return factories.make_user("sam", "CSC", "practitioner", now, password=factories.PASSWORD)


def sign_in(client: FlaskClient, email: str) -> None:
    response = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(client), "email": email, "password": factories.PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def post(client: FlaskClient, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data})


def cookie_of(app: Flask, client: FlaskClient) -> dict:
    """Read the session cookie as anyone holding it could (it is signed, not secret)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie.value))


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of the first one's cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_cookie_stops_working_when_its_user_signs_out(app, client, sam, clock) -> None:
    sign_in(client, sam.email)
    thief = copy_of(app, client)
    assert thief.get("/cases").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    assert client.get("/cases").status_code == 302
    refused = thief.get("/cases")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/sign-in")
    assert db.session.scalar(select(func.count()).select_from(SignInSession)) == 0


def test_a_session_ends_after_the_idle_limit_and_says_why(app, client, sam, clock) -> None:
    sign_in(client, sam.email)
    for minutes in (29, 58, 87):  # used every 29 minutes: still signed in
        clock(minutes)
        assert client.get("/cases").status_code == 200, minutes
    clock(87 + 30)
    ended = client.get("/cases")
    assert ended.status_code == 302
    page = client.get(ended.headers["Location"]).get_data(as_text=True)
    assert "You were signed out because you had not used the service for 30 minutes" in page
    clock(87 + 31)
    assert client.get("/cases").status_code == 302  # a new request does not bring it back


def test_the_idle_limit_is_a_setting(app, client, sam, clock, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    sign_in(client, sam.email)
    clock(4)
    assert client.get("/cases").status_code == 200
    clock(9)
    assert client.get("/cases").status_code == 302


def test_a_session_ends_at_the_absolute_limit_however_busy(app, client, sam, clock) -> None:
    sign_in(client, sam.email)
    minute = 0
    while minute < 12 * 60 - 20:
        minute += 20
        clock(minute)
        assert client.get("/cases").status_code == 200, minute
    clock(12 * 60)
    ended = client.get("/cases")
    assert ended.status_code == 302
    page = client.get(ended.headers["Location"]).get_data(as_text=True)
    assert "You were signed out because you had been signed in for 12 hours" in page


def test_signing_in_renews_the_session_and_leaves_nothing_of_the_last(
    app, client, sam, world, now, clock
) -> None:
    sign_in(client, sam.email)
    first = copy_of(app, client)
    first_key = cookie_of(app, client)["sid"]
    lee = factories.make_user("lee", "CSC", "practitioner", now, password=factories.PASSWORD)
    sign_in(client, lee.email)  # someone else on the same browser
    cookie = cookie_of(app, client)
    assert cookie["sid"] != first_key
    assert first.get("/cases").status_code == 302  # the session before is over
    assert "Lee" in client.get("/cases").get_data(as_text=True)


def raise_up_to_check(client: FlaskClient) -> None:
    assert post(client, "/raise/risk", {"risk": "no"}).status_code == 302
    assert post(client, "/raise/agencies", {"agencies": ["HEALTH"]}).status_code == 302
    about = {"workflow": "leeds-pcrp", "child_ref": "CS-700001", "category": "threshold"}
    done = post(client, "/raise/about", {**about, "summary": SUMMARY})
    assert done.headers["Location"] == "/raise/check"


def test_a_draft_is_kept_on_the_server_and_never_reaches_the_next_person(
    app, client, sam, now, clock
) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    assert "sleeps at a neighbour" not in str(cookie_of(app, client))
    assert "CS-700001" not in str(cookie_of(app, client))
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    lee = factories.make_user("lee", "CSC", "practitioner", now, password=factories.PASSWORD)
    sign_in(client, lee.email)
    check = client.get("/raise/check")
    assert check.status_code == 302 and check.headers["Location"] == "/raise/risk"
    assert "CS-700001" not in client.get("/cases").get_data(as_text=True)
    draft = db.session.scalar(select(Draft))
    assert draft is not None
    assert client.get(f"/raise/drafts/{draft.id}").status_code == 404  # not Lee's
    refused = client.post(
        f"/raise/drafts/{draft.id}/discard", data={"csrf_token": csrf_token(client, "/cases")}
    )
    assert refused.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 1


def test_the_author_finds_the_draft_on_your_cases_and_raises_it(app, client, sam, clock) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/cases")})
    clock(60 * 24)  # the next day
    sign_in(client, sam.email)
    listing = client.get("/cases").get_data(as_text=True)
    assert "Your drafts" in listing and "CS-700001" in listing and "Community Health" in listing
    draft = db.session.scalar(select(Draft))
    assert draft is not None
    resumed = client.get(f"/raise/drafts/{draft.id}")
    assert resumed.headers["Location"] == "/raise/check"
    assert SUMMARY.replace("'", "&#39;") in client.get("/raise/check").get_data(as_text=True)
    assert post(client, "/raise/check", {}).status_code == 302
    case = db.session.scalar(select(Case).where(Case.child_ref == "CS-700001"))
    assert case is not None and case.summary == SUMMARY
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert "Your drafts" not in client.get("/cases").get_data(as_text=True)


def test_the_author_deletes_a_draft(app, client, sam, clock) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    draft = db.session.scalar(select(Draft))
    assert draft is not None
    gone = client.post(
        f"/raise/drafts/{draft.id}/discard", data={"csrf_token": csrf_token(client, "/cases")}
    )
    assert gone.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert client.get("/raise/check").headers["Location"] == "/raise/risk"


def test_drafts_and_ended_sessions_are_deleted_after_their_time(
    app, client, sam, clock, now
) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    limits = signins.Limits.from_config(app.config)
    ctx = service_context(now + timedelta(days=6))
    assert signins.purge(db.session(), ctx, limits) == 1  # the session, idle for days
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 1
    later = service_context(now + limits.drafts + timedelta(minutes=1))
    assert signins.purge(db.session(), later, limits) == 1
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0


def test_a_key_the_server_never_gave_opens_nothing(app, world, clock) -> None:
    client = sign_in_as(app.test_client(), world["csc_practitioner"])
    assert client.get("/cases").status_code == 200
    with client.session_transaction() as session:
        session["sid"] = "a key the server never gave"
    assert client.get("/cases").status_code == 302


def test_one_draft_is_raised_once_however_often_confirmed(app, client, sam, clock, now) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    draft = db.session.scalar(select(Draft))
    assert draft is not None
    answers = {
        "child_ref": "CS-700001",
        "category": "threshold",
        "summary": SUMMARY,
        "with_agencies": ["HEALTH"],
    }
    ctx = service_context(now)
    case_service.raise_case(db.session(), ctx, sam.id, **answers, draft_id=draft.id)
    with pytest.raises(Conflict):  # a second click that read the draft before the first ended
        case_service.raise_case(db.session(), ctx, sam.id, **answers, draft_id=draft.id)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_deactivating_a_user_deletes_their_drafts(app, client, sam, clock, now) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    accounts.set_active(db.session(), service_context(now), sam.email, False)
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert client.get("/cases").status_code == 302


def test_the_scheduler_clears_ended_sessions_and_old_drafts(app, client, sam, clock, now) -> None:
    sign_in(client, sam.email)
    raise_up_to_check(client)
    assert run_housekeeping(app, now + timedelta(minutes=10)) == 0  # all still live
    assert run_housekeeping(app, now + timedelta(days=8)) == 2
    assert db.session.scalar(select(func.count()).select_from(SignInSession)) == 0
