"""The identity providers file (TOML, named by RESOLUTION_IDENTITY_PROVIDERS), read and checked.

Each `[[providers]]` table is one OpenID Connect provider for one agency or group of
agencies. Client secrets are never in the file: it names the environment variable that
holds each one. Issuers must be https, except on loopback (tests and development).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
AGENCY_RE = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")
AUTO_CREATE = ("pending",)
FIELDS = {
    "key",
    "title",
    "issuer",
    "client_id",
    "client_secret_env",
    "agencies",
    "passwords",
    "auto_create",
    "email_verified_claim",
}
SCOPES = "openid email profile"
DISCOVERY = "/.well-known/openid-configuration"


class IdentityConfigError(ValueError):
    """The providers file cannot be used; `problems` names each thing wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider and the agencies whose users sign in with it."""

    key: str
    title: str
    issuer: str
    client_id: str
    client_secret_env: str
    agencies: tuple[str, ...]
    passwords: bool
    auto_create: str | None
    email_verified_claim: str = "email_verified"  # e.g. "xms_edov" for Entra ID

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + DISCOVERY

    def client_secret(self) -> str | None:
        """Return the client secret from the environment, or None when it is not set."""
        return os.environ.get(self.client_secret_env) or None


def is_loopback(host: str | None) -> bool:
    """Tell whether a host name is this machine's loopback (localhost, 127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_url(url: str) -> bool:
    """Tell whether a provider's URL may be used: https, or plain http on loopback only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and is_loopback(parts.hostname)


def _text(where: str, table: Mapping[str, Any], name: str, problems: list[str]) -> str:
    value = table.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: '{name}' must be a non-empty string")
        return ""
    return value.strip()


def _provider(index: int, table: Any, problems: list[str]) -> Provider | None:
    where = f"providers[{index}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return None
    start = len(problems)
    unknown = sorted(set(table) - FIELDS)
    if unknown:
        problems.append(f"{where}: unknown setting(s) {', '.join(unknown)}")
    key = _text(where, table, "key", problems)
    if key and not KEY_RE.match(key):
        problems.append(f"{where}: key '{key}' must be 1 to 40 lower-case letters, digits or -")
    where = f"provider '{key}'" if key else where
    title = _text(where, table, "title", problems)
    issuer = _text(where, table, "issuer", problems)
    if issuer and not allowed_url(issuer):
        problems.append(
            f"{where}: issuer '{issuer}' must be an https URL (plain http only on loopback)"
        )
    client_id = _text(where, table, "client_id", problems)
    secret_env = _text(where, table, "client_secret_env", problems)
    if secret_env and not ENV_RE.match(secret_env):
        problems.append(f"{where}: client_secret_env must name an environment variable")
    agencies = table.get("agencies")
    if (
        not isinstance(agencies, list)
        or not agencies
        or not all(isinstance(a, str) and AGENCY_RE.match(a) for a in agencies)
    ):
        problems.append(f"{where}: 'agencies' must be a non-empty list of agency codes")
        agencies = []
    passwords = table.get("passwords", True)
    if not isinstance(passwords, bool):
        problems.append(f"{where}: 'passwords' must be true or false")
    auto_create = table.get("auto_create")
    if auto_create is not None and auto_create not in AUTO_CREATE:
        problems.append(f"{where}: 'auto_create' must be \"pending\" or left out")
    elif auto_create is not None and len(agencies) != 1:
        problems.append(
            f"{where}: 'auto_create' needs exactly one agency (with several, a new user's "
            "agency is not known)"
        )
    verified_claim = table.get("email_verified_claim", "email_verified")
    if not isinstance(verified_claim, str) or not verified_claim.strip():
        problems.append(f"{where}: 'email_verified_claim' must name a claim")
    if len(problems) > start:
        return None
    return Provider(
        key=key,
        title=title,
        issuer=issuer.rstrip("/"),
        client_id=client_id,
        client_secret_env=secret_env,
        agencies=tuple(agencies),
        passwords=bool(passwords),
        auto_create=auto_create,
        email_verified_claim=verified_claim.strip(),
    )


def parse_providers(data: Mapping[str, Any]) -> tuple[Provider, ...]:
    """Return the providers of a parsed file, or raise IdentityConfigError naming every fault."""
    problems: list[str] = []
    unknown = sorted(set(data) - {"providers"})
    if unknown:
        problems.append(f"unknown top-level setting(s) {', '.join(unknown)}")
    tables = data.get("providers", [])
    if not isinstance(tables, list):
        raise IdentityConfigError([*problems, "'providers' must be an array of tables"])
    found = [p for i, t in enumerate(tables) if (p := _provider(i, t, problems)) is not None]
    seen: dict[str, str] = {}
    keys: set[str] = set()
    for provider in found:
        if provider.key in keys:
            problems.append(f"provider '{provider.key}' is configured twice")
        keys.add(provider.key)
        for agency in provider.agencies:
            if agency in seen:
                problems.append(
                    f"agency {agency} is given to two providers ('{seen[agency]}' and "
                    f"'{provider.key}'): each agency signs in with one"
                )
            seen[agency] = provider.key
    if problems:
        raise IdentityConfigError(problems)
    return tuple(found)


def load_providers(path: str | Path | None) -> tuple[Provider, ...]:
    """Read the providers file; none configured (no path) is no providers."""
    if not path:
        return ()
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise IdentityConfigError([f"cannot read {path}: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise IdentityConfigError([f"{path} is not valid TOML: {exc}"]) from None
    return parse_providers(data)


def missing_secrets(providers: tuple[Provider, ...]) -> list[str]:
    """Name each provider whose client secret is not in the environment."""
    return [
        f"provider '{p.key}': the environment variable {p.client_secret_env} is not set"
        for p in providers
        if p.client_secret() is None
    ]


def check_discovery(provider: Provider, document: Any) -> list[str]:
    """Name what is wrong with an issuer's discovery document, if anything."""
    where = f"provider '{provider.key}'"
    if not isinstance(document, dict):
        return [f"{where}: the discovery document is not a JSON object"]
    problems = []
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != provider.issuer:
        problems.append(
            f"{where}: the discovery document names the issuer {issuer!r}, not {provider.issuer!r}"
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        url = document.get(name)
        if not isinstance(url, str) or not url:
            problems.append(f"{where}: the discovery document has no {name}")
        elif not allowed_url(url):
            problems.append(f"{where}: {name} {url!r} is not https (plain http only on loopback)")
    end = document.get("end_session_endpoint")
    if end is not None and (not isinstance(end, str) or not allowed_url(end)):
        problems.append(f"{where}: end_session_endpoint {end!r} is not https")
    return problems
