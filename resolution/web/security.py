"""Security for the web pages: a CSP nonce per request, the usual headers, sign-in throttling."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request


def csp_nonce() -> str:
    """Return this request's nonce for inline and module scripts."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def fresh_request_state() -> None:
    """Drop per-request values from `g`, which an outer app context (tests, CLI) may share."""
    g.pop("csp_nonce", None)
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def _policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


HSTS = "max-age=31536000; includeSubDomains"  # a year, the usual floor for preload lists


def add_security_headers(response: Response) -> Response:
    """Add the usual headers to every response: the API's and the pages' (with their CSP).

    HSTS goes on every answer when the cookies are for HTTPS only, so browsers keep to it.
    """
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers["Strict-Transport-Security"] = HSTS
    if request.path.startswith("/api/"):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Answers carry case details and are per token: no cache, shared or private, keeps one.
        response.headers["Cache-Control"] = "no-store"
        return response
    response.headers["Content-Security-Policy"] = _policy(csp_nonce())
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint not in ("web_assets.asset", "web_assets.govuk", "web_assets.app_static"):
        response.headers["Cache-Control"] = "no-store"
    return response


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    """Count failed sign-ins per e-mail and address, in this process's memory.

    After `free` failures each further attempt must wait a window that doubles
    with every failure, up to `longest` seconds; a success clears the count.
    Each worker process keeps its own counts, so N workers allow N times as many tries.
    """

    def __init__(
        self, free: int = 3, first: float = 2.0, longest: float = 900.0, forget: float = 3600.0
    ) -> None:
        self.free, self.first, self.longest, self.forget = free, first, longest, forget
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def wait_left(self, email: str, address: str) -> float:
        """Return how many seconds must pass before this e-mail may be tried again from here."""
        key = (email.strip().lower(), address)
        with self._lock:
            found = self._failures.get(key)
            if found is None:
                return 0.0
            elapsed = time.monotonic() - found.last
            if elapsed > self.forget:
                del self._failures[key]
                return 0.0
            return max(0.0, self.window(found.count) - elapsed)

    def window(self, count: int) -> float:
        """Return the wait imposed after `count` failures."""
        if count < self.free:
            return 0.0
        return float(min(self.longest, self.first * 2 ** (count - self.free)))

    def failed(self, email: str, address: str) -> None:
        """Count one failure."""
        key = (email.strip().lower(), address)
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()  # a flood: start again rather than grow without end
            found = self._failures.get(key)
            count = found.count + 1 if found else 1
            self._failures[key] = _Failures(count, time.monotonic())

    def succeeded(self, email: str, address: str) -> None:
        """Forget the failures of this e-mail from this address."""
        with self._lock:
            self._failures.pop((email.strip().lower(), address), None)


def init_app(app: Flask) -> None:
    """Attach the headers, the nonce and a throttle to the app."""
    app.before_request(fresh_request_state)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.extensions["sign_in_throttle"] = SignInThrottle(
        free=app.config.get("SIGN_IN_FREE_TRIES", 3),
        first=app.config.get("SIGN_IN_FIRST_WAIT", 2.0),
        longest=app.config.get("SIGN_IN_LONGEST_WAIT", 900.0),
    )
