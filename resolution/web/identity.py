"""Signing in with an agency's own account: OpenID Connect through Authlib's Flask client.

`/sign-in/<key>` sends the browser to provider `key` (authorization code flow with PKCE;
Authlib makes the `state` and `nonce` and keeps them in the session); the provider sends it
back to `/sign-in/<key>/callback`, where Authlib checks the state, exchanges the code and
checks the ID token (signature from the provider's keys, issuer, audience, expiry, nonce).
The service (services.identity) then says which of our users that is, or why not; every
sign-in ends in auth.begin_session, and every failure is in the access log with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import click
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from joserfc.errors import JoseError

from ..config import ConfigError
from ..extensions import db
from ..identity_config import (
    SCOPES,
    IdentityConfigError,
    Provider,
    check_discovery,
    load_providers,
    missing_secrets,
)
from ..models import User
from ..services import access, accounts, directory
from ..services import identity as matching
from . import auth
from .helpers import web_ctx

bp = Blueprint("identity", __name__)
log = logging.getLogger(__name__)
PROVIDER_KEY = "identity_provider"  # in the session: which provider the user signed in with
NEXT_KEY = "identity_next"
TIMEOUT = 10  # seconds for each request to a provider


def providers() -> dict[str, Provider]:
    """Return this app's identity providers by key."""
    found: dict[str, Provider] = current_app.extensions["identity_providers"]
    return found


def _provider(key: str) -> Provider:
    found = providers().get(key)
    if found is None:
        abort(404)
    return found


def _client(key: str) -> Any:
    return current_app.extensions["identity_oauth"].create_client(key)


def _log_failure(key: str, reason: str, user: User | None = None) -> None:
    """Write a failed sign-in to the access log, with the provider and the reason."""
    target = f"{request.remote_addr or 'unknown'} via {key}: {reason}"
    access.record_access(
        db.session(), web_ctx(), user or accounts.UNKNOWN, access.SIGN_IN_FAILED, target, "web"
    )


def _refused(provider: Provider, heading: str, message: str, status: int) -> ResponseReturnValue:
    page = render_template(
        "identity/refused.html", provider=provider, heading=heading, message=message
    )
    return page, status


def _unavailable(provider: Provider, reason: str) -> ResponseReturnValue:
    _log_failure(provider.key, reason)
    log.warning("identity provider %s: %s", provider.key, reason)
    return _refused(
        provider,
        f"Signing in with your {provider.title} is not working at the moment",
        "Try again later, or ask your partnership's administrator.",
        503,
    )


@bp.get("/sign-in/<key>")
def start(key: str) -> ResponseReturnValue:
    """Send the browser to the provider's sign-in page."""
    provider = _provider(key)
    client = _client(key)
    try:
        problems = check_discovery(provider, client.load_server_metadata())
    except (requests.RequestException, ValueError) as exc:
        return _unavailable(provider, f"discovery failed ({type(exc).__name__})")
    if problems:
        client.server_metadata.clear()  # fetch it again next time: it may be mended
        return _unavailable(provider, "; ".join(problems))
    target = request.args.get("next")
    session[NEXT_KEY] = auth._safe_next(target)
    callback = url_for("identity.callback", key=key, _external=True)
    return client.authorize_redirect(callback)  # type: ignore[no-any-return]


def _reason(exc: Exception) -> str:
    """Say in a few words why Authlib refused a callback, for the access log."""
    error = getattr(exc, "error", None) or type(exc).__name__
    description = getattr(exc, "description", None) or ""
    return f"{error}: {description}".strip(": ")[:120]


@bp.get("/sign-in/<key>/callback")
def callback(key: str) -> ResponseReturnValue:
    """Check what the provider sent back and sign its user in, or say why not."""
    provider = _provider(key)
    client = _client(key)
    try:
        # Authlib checks the audience against our client id only when told to (its own
        # check is of `azp`): name both the issuer and the audience the token must have.
        token = client.authorize_access_token(
            claims_options={
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            }
        )
    except (AuthlibBaseError, JoseError) as exc:
        _log_failure(key, _reason(exc))
        return _refused(
            provider,
            "You have not been signed in",
            f"Signing in with your {provider.title} did not complete, or took too long. "
            "Start again from the sign-in page.",
            400,
        )
    except (requests.RequestException, ValueError) as exc:
        return _unavailable(provider, f"token request failed ({type(exc).__name__})")
    claims = token.get("userinfo") if isinstance(token, dict) else None
    if not claims:
        return _unavailable(provider, "no ID token in the token response")
    identity = matching.Identity.from_claims(claims, provider.email_verified_claim)
    try:
        user = matching.sign_in(db.session(), web_ctx(), provider, identity)
    except matching.SignInRefused as exc:
        _log_failure(key, exc.reason, exc.user)
        return _refused(provider, "You cannot sign in to this service", exc.message, 403)
    target = session.pop(NEXT_KEY, None)
    methods = "+".join(identity.amr) or "not given"
    auth.begin_session(user, note=f" via {key}, amr {methods}")
    session[PROVIDER_KEY] = key  # after begin_session: a new session may have begun there
    return redirect(auth._safe_next(target))


@dataclass(frozen=True)
class SignOutOffer:
    """The provider's own sign-out, offered after ours."""

    title: str
    url: str


def sign_out_offer() -> SignOutOffer | None:
    """Return the provider's sign-out for the current session, if it advertises one.

    Read (and forgotten) before the session ends: it says which provider the user came from.
    """
    key = session.pop(PROVIDER_KEY, None)
    provider = providers().get(key) if isinstance(key, str) else None
    if provider is None:
        return None
    client = _client(provider.key)
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError):
        return None
    if not metadata.get("end_session_endpoint") or check_discovery(provider, metadata):
        return None
    after = url_for("auth.sign_in", _external=True)
    made = client.create_logout_url(post_logout_redirect_uri=after, client_id=provider.client_id)
    return SignOutOffer(title=provider.title, url=str(made["url"]))


def passwords_allowed(user: User) -> bool:
    """Tell whether this user's agency still allows passwords here."""
    return matching.passwords_allowed(providers().values(), user.agency.code)


def _sign_in_choices() -> dict[str, Any]:
    """What the sign-in page needs: a button per provider, and whether to show passwords."""

    def buttons() -> list[dict[str, str]]:
        return [
            {
                "text": f"Sign in with {p.title}",
                "href": url_for("identity.start", key=p.key, next=request.args.get("next")),
            }
            for p in providers().values()
        ]

    def password_form() -> bool:
        if not providers() or current_user.is_authenticated:
            return True
        codes = [a.code for a in directory.agencies(db.session(), web_ctx()) if a.active]
        return matching.any_passwords(providers().values(), codes) or not codes

    return {"identity_buttons": buttons, "password_form": password_form}


def init_app(app: Flask) -> None:
    """Read the providers file and register one Authlib client per provider.

    A faulty file stops the service from starting, naming what is wrong; under a `flask`
    command it is only reported, so that `flask identity check` can say it in full.
    """
    try:
        found = load_providers(app.config.get("IDENTITY_PROVIDERS"))
        if missing_secrets(found):
            raise IdentityConfigError(missing_secrets(found))
    except IdentityConfigError as exc:
        if click.get_current_context(silent=True) is None:
            raise ConfigError(f"RESOLUTION_IDENTITY_PROVIDERS: {exc}") from None
        log.warning("identity providers not loaded: %s", exc)
        found = ()
    oauth = OAuth(app)
    for provider in found:
        oauth.register(
            provider.key,
            client_id=provider.client_id,
            client_secret=provider.client_secret(),
            server_metadata_url=provider.discovery_url,
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT,
            },
        )
    app.extensions["identity_providers"] = {p.key: p for p in found}
    app.extensions["identity_oauth"] = oauth
    app.context_processor(_sign_in_choices)
    app.register_blueprint(bp)
