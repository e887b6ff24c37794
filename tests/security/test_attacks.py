"""Attacks a hostile user or a careless client would try, through the API and the pages.

SQL injection payloads in every filter and search parameter; script payloads in every
free-text field; forms posted without their CSRF token; a deactivated user's token;
and secrets looked for in everything the service writes out.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from flask import Flask
from markupsafe import escape

from resolution.context import real_now, service_context
from resolution.extensions import db
from resolution.services import accounts

from .. import factories
from ..api.conftest import Api, new_case, nothing_written, row_counts
from ..web.conftest import csrf_token

SQL = [
    "'",
    "' OR '1'='1",
    "1 OR 1=1",
    "') OR ('a'='a",
    "1; DROP TABLE case_file; --",
    "' UNION SELECT email, password_hash, NULL FROM user_account --",
    "1' AND (SELECT 1 FROM pg_sleep(3)) --",
    "1' AND 1=(SELECT COUNT(*) FROM sqlite_master) --",
    "%27%20OR%201%3D1--",
    "CSC'/**/OR/**/'1'='1",
    "\\' OR 1=1 #",
    "1e999",
    "-1",
]

API_PARAMETERS = {
    "/cases": ["state", "overdue", "agency", "stage", "page", "per_page"],
    "/outcomes": ["from", "to", "agency", "category", "level", "outcome", "theme", "format"],
    "/audit/events": ["after_seq", "limit"],
}
WEB_PARAMETERS = {
    "/overdue": ["show", "level", "agency", "sort", "order"],
    "/outcomes": ["from", "to", "agency", "category", "level", "outcome", "theme"],
    "/figures": ["from", "to"],
    "/access": ["actor", "what", "on", "page"],
    "/cases": ["page"],
}
WHO_READS = {"/overdue": "csc_manager", "/cases": "csc_practitioner", "/access": "auditor"}

XSS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
    "</textarea><script>alert(2)</script>",
]


def _case_count(api: Api, who: str) -> int:
    return int(api.get("/cases?per_page=1", who).get_json()["total"])


def test_sql_injection_in_every_api_filter_finds_nothing(api: Api, world, now) -> None:
    new_case(world, now)
    new_case(world, now, by="police_practitioner", with_agencies=("CSC",), with_people=())
    visible = _case_count(api, "health_practitioner")
    for path, names in API_PARAMETERS.items():
        who = "auditor" if path != "/cases" else "health_practitioner"
        for name in names:
            for payload in SQL:
                with nothing_written():
                    began = time.monotonic()
                    response = api.get(f"{path}?{name}={quote(payload)}", who)
                    took = time.monotonic() - began
                assert response.status_code in (200, 422), (path, name, payload)
                assert took < 2, f"{path} {name}={payload!r} took {took:.1f}s"
                if response.status_code == 422:
                    assert name in response.get_json()["error"]["fields"], (path, name)
                elif path == "/cases":
                    assert response.get_json()["total"] <= visible, (name, payload)
                assert "$argon2" not in response.get_data(as_text=True)


def test_sql_injection_in_every_page_filter_finds_nothing(
    app: Flask,
    world,
    now,
    as_user,
) -> None:
    case = new_case(world, now)
    reference = case.reference
    clients = {path: as_user(world[WHO_READS.get(path, "auditor")]) for path in WEB_PARAMETERS}
    manager = as_user(world["csc_manager"])
    for path, names in WEB_PARAMETERS.items():
        client = clients[path]
        for name in names:
            for payload in SQL:
                before = row_counts()
                began = time.monotonic()
                response = client.get(f"{path}?{name}={quote(payload)}")
                took = time.monotonic() - began
                assert row_counts() == before
                assert response.status_code in (200, 400), (path, name, payload)
                assert took < 2, f"{path} {name}={payload!r} took {took:.1f}s"
                html = response.get_data(as_text=True)
                assert "$argon2" not in html and "Traceback" not in html
    # The filters still work after all that: the case is still listed where it should be.
    assert reference in manager.get("/overdue?show=all").get_data(as_text=True)


def test_script_payloads_in_every_text_field_stay_inert(
    api: Api,
    world,
    as_user,
) -> None:
    for payload in XSS:
        raised = api.post(
            "/cases",
            "csc_practitioner",
            {
                "child_ref": "CS-4040",
                "category": "other",
                "summary": f"Summary {payload}",
                "with_agencies": ["HEALTH"],
                "with_people": ["health_practitioner@example.org"],
                "immediate_risk": {
                    "referral_made": True,
                    "referred_to": f"Front door {payload}",
                    "at": (real_now() - timedelta(hours=1)).isoformat(),
                },
            },
        )
        assert raised.status_code == 201, raised.get_json()
        case_id = raised.get_json()["id"]
        noted = api.post(
            f"/cases/{case_id}/records", "csc_practitioner", {"kind": "note", "text": payload}
        )
        assert noted.status_code == 201 and noted.get_json()["text"] == payload
        proposed = api.post(
            f"/cases/{case_id}/timescale",
            "health_practitioner",
            {"due_at": factories.working_day(real_now(), 20).isoformat(), "reason": payload},
        )
        assert proposed.status_code == 200, proposed.get_json()
        closed = api.post(
            f"/cases/{case_id}/actions/resolve",
            "csc_lead",
            {
                "record": payload,
                "outcome": {"text": payload},
                "learning": {"text": payload, "themes": ["information_sharing"]},
            },
            headers={"If-Match": api.get(f"/cases/{case_id}", "csc_lead").headers["ETag"]},
        )
        assert closed.status_code == 200, closed.get_json()
        factories.agree(real_now(), case_id)  # the other side confirms (leeds-pcrp version 2)
        answer = api.get(f"/cases/{case_id}", "csc_practitioner")
        assert answer.mimetype == "application/json"
        body = answer.get_json()
        assert body["summary"] == f"Summary {payload}"  # kept as typed, as data
        assert body["outcome"]["text"].startswith(payload)
        page = as_user(world["csc_practitioner"]).get(f"/cases/{case_id}").get_data(as_text=True)
        for dangerous in ("<script>alert", "<img src=x", "<svg onload", "</textarea><script>"):
            assert dangerous not in page, (payload, dangerous)
        assert str(escape(payload)) in page  # shown, as text
        log = as_user(world["auditor"]).get("/outcomes").get_data(as_text=True)
        assert "<script>alert" not in log and "<img src=x" not in log


def test_forms_posted_without_their_csrf_token_are_refused_and_write_nothing(
    world,
    now,
    as_user,
) -> None:
    case = new_case(world, now)
    practitioner = as_user(world["csc_practitioner"])
    admin = as_user(world["admin"])
    user_id = world["csc_practitioner2"].id
    posts = [
        (practitioner, f"/cases/{case.id}/records/new", {"kind": "note", "text": "x"}),
        (practitioner, f"/cases/{case.id}/timescale", {"reason": "x"}),
        (practitioner, f"/cases/{case.id}/timescale/accept", {}),
        (practitioner, f"/cases/{case.id}/actions/escalate", {"record": "x"}),
        (practitioner, "/raise/risk", {"immediate_risk": "no"}),
        (practitioner, "/sign-out", {}),
        (admin, "/admin/agencies/new", {"code": "EVIL", "name": "Evil"}),
        (admin, "/admin/users/new", {"email": "evil@example.org"}),
        (admin, f"/admin/users/{user_id}/role", {"role": "admin"}),
        (admin, f"/admin/users/{user_id}/password", {"password": "x" * 20}),
        (admin, f"/admin/users/{user_id}/revoke-tokens", {}),
        (admin, f"/admin/users/{user_id}/active", {"active": "0"}),
    ]
    for client, path, data in posts:
        with nothing_written():
            response = client.post(path, data=data)
        assert response.status_code == 400, path
    assert world["csc_practitioner2"].role == "practitioner"
    assert practitioner.get("/cases").status_code == 200  # still signed in: sign-out was refused


def test_a_deactivated_users_token_stops_at_the_next_request(api: Api, world, now) -> None:
    assert api.get("/cases", "health_lead").status_code == 200
    accounts.set_active(db.session(), service_context(real_now()), "health_lead@example.org", False)
    refused = api.get("/cases", "health_lead")
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert api.get("/cases", "health_practitioner").status_code == 200  # others carry on


def test_no_secret_appears_in_logs_pages_or_answers(
    app: Flask,
    client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = service_context(real_now())
    accounts.create_agency(db.session(), ctx, "CSC", "Children's Social Care")
    password = "a very secret passphrase 9931"
    user = accounts.create_user(db.session(), ctx,
        email="pat@example.org", name="Pat", agency="CSC", role="practitioner",
        password=password,
    )  # fmt: skip
    token = accounts.issue_token(db.session(), ctx, "pat@example.org")
    secrets = {
        "password": password,
        "token": token,
        "token hash": accounts.hash_token(token),
        "password hash": user.password_hash,
        "secret key": app.config["SECRET_KEY"],
    }
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    form = {"csrf_token": csrf_token(client), "email": "pat@example.org", "password": password}
    seen.append(client.post("/sign-in", data=form).get_data(as_text=True))
    for path in ("/cases", "/raise/risk", "/sign-in"):
        seen.append(client.get(path).get_data(as_text=True))
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/cases", "/api/v1/workflows", "/api/v1/openapi.json", "/api/v1/cases/999"):
        seen.append(client.get(path, headers=headers).get_data(as_text=True))
    wrong = {"Authorization": "Bearer rsl_" + "x" * 43}
    seen.append(client.get("/api/v1/cases", headers=wrong).get_data(as_text=True))
    seen.append(caplog.text)
    for name, secret in secrets.items():
        assert secret, name
        for text in seen:
            assert secret not in text, f"the {name} leaked"
