"""Signing in and out with a password, over sessions kept on the server (services.signins).

The cookie holds Flask-Login's user id and the session's random key; the server
decides whether that session is still live on every request.
"""

from __future__ import annotations

import math
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..models import User
from ..services import access, accounts, resets, signins
from ..services.errors import NotFound, ServiceError
from . import identity
from .forms import (
    ButtonForm,
    ChangePasswordForm,
    ForgottenForm,
    ResetForm,
    SignInForm,
    add_errors,
)
from .helpers import me, web_ctx
from .security import SignInThrottle

bp = Blueprint("auth", __name__)

FAILED = "Enter a correct email address and password"
USE_PROVIDER = "Your agency signs in with its own account here: use the button above"


SID = "sid"
ENDED = {
    "idle": "You were signed out because you had not used the service for {idle} minutes",
    "absolute": "You were signed out because you had been signed in for {hours} hours",
}


def _limits() -> signins.Limits:
    return signins.Limits.from_config(current_app.config)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user of a live server-side session, or None (and forget the cookie's)."""
    ident = user_id.partition(":")[0]  # the epoch after it is checked on the server's row
    if not ident.isdigit():
        return None
    user, why = signins.check(db.session(), web_ctx(), session.get(SID), int(ident), _limits())
    if user is None:
        session.clear()
        if why in ENDED:
            flash(
                ENDED[why].format(
                    idle=current_app.config["SESSION_IDLE_MINUTES"],
                    hours=current_app.config["SESSION_HOURS"],
                ),
                "info",
            )
    return user


def _safe_next(target: str | None) -> str:
    """Return a local path to go to after signing in, never another site."""
    if not target:
        return url_for("home.start")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.start")
    return target


def _throttle() -> SignInThrottle:
    return current_app.extensions["sign_in_throttle"]  # type: ignore[no-any-return]


def _log(user: User | None, email: str, what: str, note: str = "") -> None:
    """Write a sign-in, failed sign-in or sign-out to the access log.

    A failure is recorded under the account's e-mail only when there is such an account:
    whatever else was typed (a password, by mistake) is recorded as "unknown".
    """
    target = f"{request.remote_addr or 'unknown'}{note}"
    actor = user or accounts.sign_in_name(db.session(), web_ctx(), email)
    access.record_access(db.session(), web_ctx(), actor, what, target, "web")


def _renew(user: User) -> None:
    """Replace this browser's session with a new one for `user`: nothing carries over."""
    signins.end(db.session(), web_ctx(), session.get(SID))
    session.clear()
    login_user(user)
    session[SID] = signins.begin(db.session(), web_ctx(), user)
    session.permanent = True  # the browser keeps the key; the server decides when it ends


def begin_session(user: User, note: str = "") -> None:
    """Sign a checked user in on this browser and log it; every way of signing in ends here."""
    _renew(user)
    _log(user, user.email, access.SIGNED_IN, note)


def end_session() -> None:
    """Sign the current user out on this browser and log it; every way of signing out ends here.

    The server forgets the session, so a copy of the cookie stops working too."""
    _log(me(), me().email, "signed_out")
    signins.end(db.session(), web_ctx(), session.get(SID))
    logout_user()
    session.clear()


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Ask for an e-mail address and password; say only that they do not match."""
    form = SignInForm()
    problem = None
    if form.validate_on_submit():
        email = form.email.data or ""
        address = request.remote_addr or "unknown"
        throttle = _throttle()
        wait = throttle.wait_left(email, address)
        if wait > 0:
            problem = f"Too many attempts to sign in. Wait {math.ceil(wait)} seconds and try again"
            _log(None, email, access.SIGN_IN_FAILED, " (too many attempts: not checked)")
        else:
            user = accounts.check_password(db.session(), web_ctx(), email, form.password.data or "")
            if user is None:
                throttle.failed(email, address)
                _log(None, email, access.SIGN_IN_FAILED)
                problem = FAILED
            elif not identity.passwords_allowed(user):  # the agency signs in with its provider
                _log(user, email, access.SIGN_IN_FAILED, " (agency signs in with its provider)")
                problem = USE_PROVIDER
            else:
                throttle.succeeded(email, address)
                begin_session(user)
                return redirect(_safe_next(request.args.get("next")))
    status = 200 if problem is None and not form.errors else 400
    return render_template("auth/sign_in.html", form=form, problem=problem), status


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    """End the session."""
    form = ButtonForm()
    if form.validate_on_submit():
        offer = identity.sign_out_offer()  # read before the session ends
        end_session()
        if offer is not None:
            return render_template("identity/signed_out.html", offer=offer)
        flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change one's own password: other sessions end and API tokens are revoked."""
    form = ChangePasswordForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            user = accounts.change_password(
                db.session(), web_ctx(), me().id, form.current.data or "", form.password.data or ""
            )
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            _renew(user)  # this browser again, at the new epoch that ended the others
            flash(
                "Your password has been changed. Your other sessions have ended and "
                "your API tokens have been revoked",
                "success",
            )
            return redirect(url_for("home.start"))
    status = 400 if form.errors or problems else 200
    return render_template("auth/password.html", form=form, problems=problems), status


RESET_KEY = "reset_key"


@bp.route("/sign-in/forgotten", methods=["GET", "POST"])
def forgotten() -> ResponseReturnValue:
    """Ask for an e-mail address and send its account a reset link, saying the same either way."""
    form = ForgottenForm()
    if form.validate_on_submit():
        email, address = form.email.data or "", request.remote_addr or "unknown"
        throttle = _throttle()
        wait = throttle.wait_left(f"reset:{email}", f"reset:{address}")
        if wait > 0:
            problem = f"Too many requests for a link. Wait {math.ceil(wait)} seconds and try again"
            return render_template("auth/forgotten.html", form=form, problem=problem), 429
        throttle.failed(f"reset:{email}", f"reset:{address}")  # every request counts
        resets.request_reset(db.session(), web_ctx(), email, allowed=identity.passwords_allowed)
        _log(None, email, access.RESET_ASKED)
        return render_template("auth/forgotten_sent.html"), 200
    return render_template("auth/forgotten.html", form=form, problem=None), (
        400 if form.errors else 200
    )


@bp.route("/sign-in/reset", methods=["GET", "POST"])
def reset() -> ResponseReturnValue:
    """Choose a new password through the link from the forgotten-password e-mail.

    The link's key comes in the query (kept out of the access log, which records paths)
    and moves at once into the session, so the address bar and history lose it too.
    """
    if request.method == "GET" and request.args.get("key"):
        session[RESET_KEY] = request.args["key"]
        return redirect(url_for("auth.reset"))
    key = str(session.get(RESET_KEY) or "")
    user = resets.reset_link_user(db.session(), web_ctx(), key) if key else None
    if user is None:
        return render_template("auth/reset_dead.html"), 404
    form = ResetForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            resets.reset_with_link(db.session(), web_ctx(), key, form.password.data or "")
        except NotFound:
            return render_template("auth/reset_dead.html"), 404  # used in another tab meanwhile
        except ServiceError as exc:
            problems = add_errors(form, exc, {})
        else:
            if current_user.is_authenticated:
                end_session()  # whoever was signed in on this browser
            session.pop(RESET_KEY, None)
            flash("Your password has been changed. Sign in with your new password", "success")
            return redirect(url_for("auth.sign_in"))
    status = 400 if form.errors or problems else 200
    return render_template(
        "auth/reset.html", form=form, problems=problems, email=user.email
    ), status


def init_app(app: Flask) -> None:
    """Configure Flask-Login for the pages."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = ""  # the sign-in page explains itself
    login_manager.session_protection = "basic"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(app.config["SESSION_HOURS"]))
