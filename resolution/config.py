"""Settings from the environment, with safe defaults for one machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


ENVIRONMENTS = ("development", "production")
MIN_SECRET_KEY = 32
# Keys seen in examples and tutorials (deploy/environment.example's among them), compared
# with case and punctuation ignored: anyone could sign sessions with one of these.
KNOWN_KEYS = frozenset(
    {
        "changeme",
        "changemeto64randomhexcharacters",
        "somesecret",
        "secret",
        "secretkey",
        "mysecretkey",
        "supersecretkey",
        "devkey",
        "development",
        "notasecret",
        "testsecretkeynotforproduction",
    }
)


class ConfigError(RuntimeError):
    """A setting the service refuses to start with; the message names the variable."""


def environment() -> str:
    """Return RESOLUTION_ENV: "production" on a deployment, "development" (the default) else."""
    value = os.environ.get("RESOLUTION_ENV", "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise ConfigError(f"RESOLUTION_ENV must be one of {', '.join(ENVIRONMENTS)}, not {value!r}")
    return value


def check_production_key(key: str | None) -> str:
    """Return the key, or refuse one missing, known from an example, or too short."""
    if not key:
        raise ConfigError(
            "SECRET_KEY is not set: production needs one of at least "
            f"{MIN_SECRET_KEY} random characters, e.g. from `python3 -c "
            "'import secrets; print(secrets.token_hex(32))'`"
        )
    folded = "".join(c for c in key.lower() if c.isalnum())
    if folded in KNOWN_KEYS or "changeme" in folded or len(set(key)) < 8:
        raise ConfigError(
            "SECRET_KEY is an example or placeholder value: set it to a new random key, "
            "e.g. from `python3 -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    if len(key) < MIN_SECRET_KEY:
        raise ConfigError(
            f"SECRET_KEY is {len(key)} characters long: use at least {MIN_SECRET_KEY} random "
            "characters, e.g. from `python3 -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return key


def _count(name: str, default: int, low: int = 0, high: int = 10) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder.

    In production (RESOLUTION_ENV=production) the key must come from the environment and
    be a real one: a worker with a generated key of its own would refuse the others' cookies.
    """
    if environment() == "production":
        return check_production_key(os.environ.get("SECRET_KEY"))
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Return the configuration read from the environment."""
    database_url = (
        os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'resolution.sqlite'}"
    )
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return {
        "RESOLUTION_ENV": environment(),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WORKFLOWS_DIR": os.environ.get("RESOLUTION_WORKFLOWS", str(ROOT / "workflows")),
        "DEFAULT_WORKFLOW": os.environ.get("RESOLUTION_DEFAULT_WORKFLOW", "leeds-pcrp"),
        "BASE_URL": os.environ.get("RESOLUTION_BASE_URL", "http://127.0.0.1:5000"),
        "TOKEN_DAYS": int(os.environ.get("RESOLUTION_TOKEN_DAYS", "90")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("RESOLUTION_MAX_BODY", str(256 * 1024))),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "1025")),
        "SMTP_TLS": os.environ.get("SMTP_TLS", "none"),  # none / starttls / ssl
        "SMTP_USER": os.environ.get("SMTP_USER"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "resolution@localhost"),
        # Whose service this is: named in every page's footer (never GOV.UK's crown).
        "PARTNERSHIP_NAME": os.environ.get("RESOLUTION_PARTNERSHIP", "").strip()
        or "Safeguarding Children Partnership",
        "SWEEP_SECONDS": int(os.environ.get("RESOLUTION_SWEEP_SECONDS", "60")),
        "OUTBOX_SECONDS": int(os.environ.get("RESOLUTION_OUTBOX_SECONDS", "15")),
        # A sender that dies holding messages leaves them to the next after this long.
        "OUTBOX_LEASE_SECONDS": int(os.environ.get("RESOLUTION_OUTBOX_LEASE_SECONDS", "300")),
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "LOG_JSON": _flag("RESOLUTION_LOG_JSON", False),
        # How many reverse proxies stand before the service: their X-Forwarded-For and
        # X-Forwarded-Proto are believed that many hops deep (Werkzeug's ProxyFix); 0: none.
        "TRUSTED_PROXIES": _count("RESOLUTION_TRUSTED_PROXIES", 0),
        # A signed-in session ends after this long without a request, and at this age anyway.
        "SESSION_IDLE_MINUTES": _count("RESOLUTION_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        "SESSION_HOURS": _count("RESOLUTION_SESSION_HOURS", 12, 1, 24 * 7),
        # A raise draft untouched this long is deleted.
        "DRAFT_DAYS": _count("RESOLUTION_DRAFT_DAYS", 7, 1, 90),
        # The OpenID Connect providers file (TOML); unset: passwords only.
        "IDENTITY_PROVIDERS": os.environ.get("RESOLUTION_IDENTITY_PROVIDERS") or None,
    }
