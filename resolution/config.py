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


def secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder."""
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
    }
