"""Settings a deployment refuses to start with, and the reverse proxies it believes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from resolution import create_app
from resolution.config import ConfigError, secret_key

GOOD_KEY = "9f1c4e7a2b8d0e3f5a6c7b8d9e0f1a2b3c4d5e6f7a8b9c0d"


def example_key(repo_root: Path) -> str:
    found = re.search(
        r"^SECRET_KEY=(.*)$", (repo_root / "deploy/environment.example").read_text(), re.M
    )
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    "key",
    [None, "", "some-secret", "changeme", "Change-Me", "x" * 40, "0123456789abcdef0123456789abcde"],
)
def test_production_refuses_a_missing_placeholder_or_short_key(
    key: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RESOLUTION_ENV", "production")
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        secret_key(tmp_path)
    assert not (tmp_path / "secret_key").exists()  # nothing generated in production


def test_production_refuses_the_example_files_key(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RESOLUTION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", example_key(repo_root))
    with pytest.raises(ConfigError, match="SECRET_KEY is an example"):
        secret_key(tmp_path)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_real_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RESOLUTION_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    assert secret_key(tmp_path) == GOOD_KEY


def test_development_generates_a_key_once_into_the_instance_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RESOLUTION_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(tmp_path)
    assert len(first) == 64 and secret_key(tmp_path) == first


def test_an_unknown_environment_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOLUTION_ENV", "prod")
    with pytest.raises(ConfigError, match="RESOLUTION_ENV"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": GOOD_KEY})


def _remote_addr_app(monkeypatch: pytest.MonkeyPatch, proxies: str | None):
    if proxies is None:
        monkeypatch.delenv("RESOLUTION_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("RESOLUTION_TRUSTED_PROXIES", proxies)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t"})

    @app.get("/test-remote-addr")
    def remote() -> str:
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    return app.test_client()


FORWARDED = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto": "https"}


def test_without_trusted_proxies_forwarded_headers_are_ignored(monkeypatch) -> None:
    client = _remote_addr_app(monkeypatch, None)
    answer = client.get(
        "/test-remote-addr", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert answer.get_data(as_text=True) == "10.0.0.1 http"


def test_trusted_proxies_give_the_client_address_that_many_hops_back(monkeypatch) -> None:
    one = _remote_addr_app(monkeypatch, "1")
    answer = one.get(
        "/test-remote-addr", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert answer.get_data(as_text=True) == "198.51.100.7 https"
    two = _remote_addr_app(monkeypatch, "2")
    both = {**FORWARDED, "X-Forwarded-Proto": "https, http"}  # each proxy adds its own
    answer = two.get("/test-remote-addr", headers=both, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert answer.get_data(as_text=True) == "203.0.113.9 https"


def test_a_bad_count_of_proxies_is_refused_by_name(monkeypatch) -> None:
    monkeypatch.setenv("RESOLUTION_TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="RESOLUTION_TRUSTED_PROXIES"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t"})
