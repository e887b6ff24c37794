"""Headers every answer carries: no caching of the API, HSTS when served over HTTPS."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.conftest import Api

HSTS = "max-age=31536000; includeSubDomains"


def test_every_api_answer_says_no_store(api: Api, world) -> None:
    answers = [
        api.get("/cases", "csc_practitioner"),  # 200
        api.get("/cases", None),  # 401
        api.get("/cases/999999", "csc_practitioner"),  # 404
        api.post("/cases", "csc_practitioner", {"nonsense": True}),  # 422
        api.client.get("/api/v1/no-such-thing"),  # a routing 404, outside the blueprint
    ]
    assert len({a.status_code for a in answers}) >= 4
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store", answer.status_code


@pytest.mark.parametrize("path", ["/sign-in", "/healthz", "/api/v1/cases", "/no-such-page"])
def test_hsts_is_on_every_answer_when_the_cookies_are_secure(
    app: Flask, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    assert "Strict-Transport-Security" not in app.test_client().get(path).headers
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert app.test_client().get(path).headers["Strict-Transport-Security"] == HSTS
