"""Security for the web pages: a CSP nonce per request, the usual headers, sign-in throttling."""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g, request

from ..extensions import db
from ..services import throttle
from .helpers import web_ctx


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
    if request.endpoint not in (
        "web_assets.asset",
        "web_assets.govuk",
        "web_assets.autocomplete",
        "web_assets.app_static",
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


class SignInThrottle:
    """The sign-in throttle's policy, with its counts in the database (services.throttle).

    Every worker shares the counts, so more workers allow no more tries.
    """

    def __init__(self, policy: throttle.Policy) -> None:
        self.policy = policy

    def window(self, count: int) -> float:
        """Return the wait imposed after `count` failures of an e-mail from one address."""
        return self.policy.window(count)

    def wait_left(self, email: str, address: str) -> float:
        """Return how many seconds must pass before this e-mail may be tried again from here."""
        return throttle.wait_left(db.session(), web_ctx(), self.policy, email, address)

    def failed(self, email: str, address: str) -> None:
        """Count one failure."""
        throttle.failed(db.session(), web_ctx(), self.policy, email, address)

    def succeeded(self, email: str, address: str) -> None:
        """Forget the failures of this e-mail."""
        throttle.succeeded(db.session(), web_ctx(), self.policy, email, address)


def init_app(app: Flask) -> None:
    """Attach the headers, the nonce and a throttle to the app."""
    app.before_request(fresh_request_state)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.extensions["sign_in_throttle"] = SignInThrottle(
        throttle.Policy(
            free=app.config.get("SIGN_IN_FREE_TRIES", 3),
            first=app.config.get("SIGN_IN_FIRST_WAIT", 2.0),
            longest=app.config.get("SIGN_IN_LONGEST_WAIT", 900.0),
        )
    )
