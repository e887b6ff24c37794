"""The providers file: what it refuses, and `flask identity check` against the real providers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from resolution.context import service_context
from resolution.extensions import db
from resolution.identity_config import (
    IdentityConfigError,
    Provider,
    allowed_url,
    check_discovery,
    parse_providers,
)
from resolution.services import accounts
from resolution.services.identity import any_passwords, passwords_allowed

from .conftest import MOCK_WARNINGS, providers_toml

pytestmark = MOCK_WARNINGS

GOOD = {
    "key": "leeds-council",
    "title": "Leeds City Council account",
    "issuer": "https://login.microsoftonline.com/TENANT/v2.0",
    "client_id": "abc",
    "client_secret_env": "LEEDS_COUNCIL_OIDC_SECRET",
    "agencies": ["CSC", "SCHOOLS"],
    "passwords": False,
}


def problems_of(*providers: dict, **top: object) -> list[str]:
    with pytest.raises(IdentityConfigError) as caught:
        parse_providers({"providers": list(providers), **top})
    return caught.value.problems


def test_the_issue_example_is_read() -> None:
    (provider,) = parse_providers({"providers": [GOOD]})
    assert provider.key == "leeds-council"
    assert provider.agencies == ("CSC", "SCHOOLS")
    assert provider.passwords is False and provider.auto_create is None
    assert provider.discovery_url == (
        "https://login.microsoftonline.com/TENANT/v2.0/.well-known/openid-configuration"
    )


def test_plain_http_issuers_are_allowed_on_loopback_only() -> None:
    for url in ("http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000"):
        assert allowed_url(url), url
    for url in ("http://login.example.org", "http://10.0.0.1", "ftp://127.0.0.1", "https://"):
        assert not allowed_url(url), url
    (problem,) = problems_of({**GOOD, "issuer": "http://login.example.org/tenant"})
    assert "must be an https URL (plain http only on loopback)" in problem


def test_each_fault_is_named() -> None:
    problems = problems_of(
        {**GOOD, "key": "Bad Key", "client_id": "", "colour": "red"},
        {**GOOD, "key": "second", "agencies": ["CSC"], "passwords": "no"},
        "not a table",
        extra=1,
    )
    text = "\n".join(problems)
    assert "unknown top-level setting(s) extra" in text
    assert "providers[0]: unknown setting(s) colour" in text
    assert "key 'Bad Key' must be 1 to 40 lower-case letters" in text
    assert "'client_id' must be a non-empty string" in text
    assert "provider 'second': 'passwords' must be true or false" in text
    assert "providers[2]: must be a table" in text


def test_an_agency_signs_in_with_one_provider_and_pending_needs_one_agency() -> None:
    twice = problems_of(GOOD, {**GOOD, "key": "other", "agencies": ["SCHOOLS"]})
    assert any("agency SCHOOLS is given to two providers" in p for p in twice)
    (pending,) = problems_of({**GOOD, "auto_create": "pending"})
    assert "'auto_create' needs exactly one agency" in pending
    (word,) = problems_of({**GOOD, "agencies": ["CSC"], "auto_create": "yes"})
    assert "'auto_create' must be \"pending\"" in word


def test_passwords_are_refused_only_for_the_agencies_that_gave_them_up() -> None:
    providers = parse_providers({"providers": [GOOD]})
    assert not passwords_allowed(providers, "CSC")
    assert passwords_allowed(providers, "HEALTH")
    assert any_passwords(providers, ["CSC", "HEALTH"])
    assert not any_passwords(providers, ["CSC", "SCHOOLS"])


def test_a_discovery_document_naming_another_issuer_is_refused(idps) -> None:
    document = requests.get(
        f"{idps['council'].issuer}/.well-known/openid-configuration", timeout=10
    ).json()
    council = Provider(
        key="council",
        title="t",
        issuer=idps["council"].issuer,
        client_id="c",
        client_secret_env="S",
        agencies=("CSC",),
        passwords=True,
        auto_create=None,
    )
    assert check_discovery(council, document) == []
    impostor = Provider(**{**council.__dict__, "issuer": idps["health"].issuer})
    (problem,) = check_discovery(impostor, document)
    assert f"names the issuer '{idps['council'].issuer}', not '{idps['health'].issuer}'" in problem


def test_identity_check_fetches_each_issuer(runner, world, now, providers_file: Path) -> None:
    accounts.create_agency(db.session(), service_context(now), "SCHOOLS", "Schools")
    result = runner.invoke(args=["identity", "check", str(providers_file)])
    assert result.exit_code == 0, result.output
    assert "ok: council (http://127.0.0.2:" in result.output
    assert "ok: health (http://127.0.0.3:" in result.output
    assert "2 provider(s) checked" in result.output


def test_identity_check_reads_the_configured_file(runner, world, now) -> None:
    accounts.create_agency(db.session(), service_context(now), "SCHOOLS", "Schools")
    result = runner.invoke(args=["identity", "check"])
    assert result.exit_code == 0, result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_identity_check_names_what_is_wrong(
    runner, world, idps, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("HEALTH_OIDC_SECRET")
    dead = f"http://127.0.0.1:{free_port()}"
    text = providers_toml(idps).replace(idps["council"].issuer, dead)
    path = tmp_path / "providers.toml"
    path.write_text(text)
    result = runner.invoke(args=["identity", "check", str(path)])
    assert result.exit_code == 1
    assert f"provider 'council': cannot fetch {dead}/.well-known/openid-configuration" in (
        result.output
    )
    assert "provider 'council': no active agency SCHOOLS in the database" in result.output
    assert "the environment variable HEALTH_OIDC_SECRET is not set" in result.output
    assert "ok: health" in result.output


def test_identity_check_names_faults_in_the_file(runner, world, tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text('[[providers]]\nkey = "x"\nissuer = "http://example.org"\n')
    result = runner.invoke(args=["identity", "check", str(path)])
    assert result.exit_code == 1
    assert "must be an https URL" in result.output
    assert "'agencies' must be a non-empty list" in result.output
    path.write_text("[[providers]\n")
    result = runner.invoke(args=["identity", "check", str(path)])
    assert result.exit_code == 1 and "is not valid TOML" in result.output


def test_the_service_will_not_start_with_a_faulty_file_or_a_missing_secret(
    database_url: str, idps, tmp_path: Path, monkeypatch
) -> None:
    from resolution import create_app
    from resolution.config import ConfigError

    faulty = tmp_path / "faulty.toml"
    faulty.write_text('[[providers]]\nkey = "x"\n')
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True}
    with pytest.raises(ConfigError, match="RESOLUTION_IDENTITY_PROVIDERS: .*'title'"):
        create_app({**settings, "IDENTITY_PROVIDERS": str(faulty)})
    good = tmp_path / "good.toml"
    good.write_text(providers_toml(idps))
    monkeypatch.delenv("COUNCIL_OIDC_SECRET")
    with pytest.raises(ConfigError, match="COUNCIL_OIDC_SECRET is not set"):
        create_app({**settings, "IDENTITY_PROVIDERS": str(good)})


def test_the_deploy_example_is_a_valid_providers_file(repo_root: Path) -> None:
    from resolution.identity_config import load_providers

    example = load_providers(repo_root / "deploy" / "identity-providers.example.toml")
    assert [p.key for p in example] == ["leeds-council", "nhs"]
    assert all(p.issuer.startswith("https://") for p in example)
    environment = (repo_root / "deploy" / "environment.example").read_text()
    assert all(f"{p.client_secret_env}=" in environment for p in example)


def test_a_discovery_document_with_plain_http_endpoints_elsewhere_is_refused(idps) -> None:
    document = requests.get(
        f"{idps['council'].issuer}/.well-known/openid-configuration", timeout=10
    ).json()
    council = parse_providers(
        {
            "providers": [
                {**GOOD, "key": "council", "issuer": idps["council"].issuer, "agencies": ["CSC"]}
            ]
        }
    )[0]
    document["token_endpoint"] = "http://login.example.org/token"
    (problem,) = check_discovery(council, document)
    assert "token_endpoint 'http://login.example.org/token' is not https" in problem


def test_a_provider_that_cannot_be_reached_gets_a_page_not_an_error(
    database_url: str, world, tmp_path: Path, monkeypatch
) -> None:
    from sqlalchemy import select

    from resolution import create_app
    from resolution.models import AccessLog

    monkeypatch.setenv("DEAD_OIDC_SECRET", "s")
    path = tmp_path / "providers.toml"
    path.write_text(
        '[[providers]]\nkey = "dead"\ntitle = "Dead account"\n'
        f'issuer = "http://127.0.0.1:{free_port()}"\nclient_id = "c"\n'
        'client_secret_env = "DEAD_OIDC_SECRET"\nagencies = ["CSC"]\n'
    )
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "TESTING": True}
    other = create_app({**settings, "IDENTITY_PROVIDERS": str(path)})
    try:
        response = other.test_client().get("/sign-in/dead")
    finally:
        with other.app_context():  # close its pool's connections now, not when collected
            db.engine.dispose()
    assert response.status_code == 503
    assert "Signing in with your Dead account is not working" in response.get_data(as_text=True)
    db.session.remove()
    (row,) = db.session.scalars(select(AccessLog).where(AccessLog.what == "sign_in_failed"))
    assert "via dead: discovery failed (ConnectionError)" in (row.target or "")
