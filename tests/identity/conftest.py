"""Two real OpenID Connect providers on loopback (oidc-provider-mock), one per agency group.

"council" signs in CSC and SCHOOLS, which no longer use passwords; "health" signs in
HEALTH, keeps passwords and asks for pending accounts for unknown users. Each provider
runs on its own loopback address (127.0.0.2, 127.0.0.3) so that neither shares cookies
with the service under test (127.0.0.1 or the test client's localhost). The users a
provider knows, and every claim of their ID tokens, are set through its own API
(`PUT /users/<sub>`): that is how a test gets an ID token for another audience, from
another issuer, or already expired, signed by the provider's real key.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from resolution import create_app
from resolution.cli import ensure_database
from resolution.extensions import db
from tests.browser.conftest import (  # noqa: F401 - the browser tests' fixtures, used here too
    browser_context_args,
    browser_type_launch_args,
    live_server,
    pages,
)

with warnings.catch_warnings():  # the provider imports parts of Authlib that Authlib deprecates
    import authlib.deprecate  # noqa: F401 - it sets its own "always" filter: then ours goes first

    warnings.simplefilter("ignore")
    import oidc_provider_mock

# The provider (not the service) calls Authlib in ways Authlib 1.9 deprecates.
MOCK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:get_jwt_config.*is deprecated:DeprecationWarning"),
]
SECRETS = {"COUNCIL_OIDC_SECRET": "council-secret-for-tests", "HEALTH_OIDC_SECRET": "h-secret"}


@dataclass
class MockProvider:
    """One running provider: its issuer URL and the users it signs in."""

    key: str
    issuer: str

    def user(self, sub: str, **claims: Any) -> str:
        """Give the provider a user `sub` whose ID token carries `claims`; return `sub`."""
        answer = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text
        return sub

    def person(self, sub: str, email: str = "", **claims: Any) -> str:
        """A user with a verified e-mail who signed in with a password and a second factor."""
        usual = {"email": email, "email_verified": True, "name": sub.title(), "amr": ["pwd", "mfa"]}
        return self.user(sub, **{**usual, **claims})


def _serve(host: str) -> tuple[Any, threading.Thread]:
    server = make_server(host, 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def idps() -> Iterator[dict[str, MockProvider]]:
    """Start both providers for the session; the mock itself serves plain HTTP only when
    AUTHLIB_INSECURE_TRANSPORT is set (the service needs no such setting: it allows plain
    HTTP for loopback issuers and nothing else)."""
    before = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    running = {
        key: _serve(host) for key, host in (("council", "127.0.0.2"), ("health", "127.0.0.3"))
    }
    try:
        yield {
            key: MockProvider(key, f"http://{server.host}:{server.server_port}")
            for key, (server, _thread) in running.items()
        }
    finally:
        for server, thread in running.values():
            server.shutdown()
            thread.join(timeout=5)
            server.server_close()
        if before is None:
            os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        else:
            os.environ["AUTHLIB_INSECURE_TRANSPORT"] = before


def providers_toml(idps: dict[str, MockProvider]) -> str:
    """The providers file for the two running providers."""
    return f'''
[[providers]]
key = "council"
title = "City Council account"
issuer = "{idps["council"].issuer}"
client_id = "resolution-council"
client_secret_env = "COUNCIL_OIDC_SECRET"
agencies = ["CSC", "SCHOOLS"]
passwords = false

[[providers]]
key = "health"
title = "NHS account"
issuer = "{idps["health"].issuer}"
client_id = "resolution-health"
client_secret_env = "HEALTH_OIDC_SECRET"
agencies = ["HEALTH"]
passwords = true
auto_create = "pending"
'''


@pytest.fixture(scope="session")
def providers_file(idps: dict[str, MockProvider], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("identity") / "providers.toml"
    path.write_text(providers_toml(idps))
    return path


@pytest.fixture(scope="session")
def _app(
    database_url: str, providers_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The app with both providers configured (replaces the suite's own for these tests)."""
    os.environ.update(SECRETS)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://resolution.test",
            "WTF_CSRF_ENABLED": True,
            "IDENTITY_PROVIDERS": str(providers_file),
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        ensure_database()
    yield app
    with app.app_context():
        db.engine.dispose()


def sign_in_over_http(
    client: FlaskClient, key: str, sub: str, *, keep: list[str] | None = None
) -> Any:
    """Sign in with provider `key` as its user `sub`, as a browser would: follow our redirect
    to the provider, choose the user on its form, and bring its answer back to our callback.
    Returns our callback's response; `keep` collects the callback URL used."""
    start = client.get(f"/sign-in/{key}")
    assert start.status_code == 302, start.get_data(as_text=True)
    chosen = requests.post(
        start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=10
    )
    assert chosen.status_code == 302, chosen.text
    back = urlsplit(chosen.headers["Location"])
    assert back.path == f"/sign-in/{key}/callback"
    if keep is not None:
        keep.append(f"{back.path}?{back.query}")
    return client.get(f"{back.path}?{back.query}")
