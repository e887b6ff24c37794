"""The web door: GOV.UK Design System pages for practitioners, leads, auditors and admins.

Thin views: each validates a WTForms form, calls one service and renders a
template. GOV.UK Frontend's CSS, JavaScript, fonts and images are served by the
app itself from the npm package (no CDN).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, redirect, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from ..config import ROOT
from ..extensions import csrf

# `everyday` adds its pages to cases.bp when imported.
from . import (  # noqa: F401
    account,
    admin,
    auth,
    cases,
    errors,
    everyday,
    helpers,
    identity,
    oversight,
    parties,
    printing,
    raising,
    security,
)

assets = Blueprint("web_assets", __name__)
home = Blueprint("home", __name__)
STATIC = Path(__file__).parent / "static"


def _frontend_dir(app: Flask) -> Path:
    return Path(
        app.config.get("GOVUK_FRONTEND_DIR")
        or ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
    )


@assets.get("/assets/<path:filename>")
def asset(filename: str) -> ResponseReturnValue:
    """Serve GOV.UK Frontend's fonts, images and manifest."""
    from flask import current_app

    return send_from_directory(_frontend_dir(current_app) / "assets", filename, max_age=86400)


@assets.get("/static/govuk/<path:filename>")
def govuk(filename: str) -> ResponseReturnValue:
    """Serve GOV.UK Frontend's compiled CSS and JavaScript."""
    from flask import current_app

    if not filename.startswith("govuk-frontend.min."):
        abort(404)
    return send_from_directory(_frontend_dir(current_app), filename, max_age=3600)


@assets.get("/static/autocomplete/<path:filename>")
def autocomplete(filename: str) -> ResponseReturnValue:
    """Serve GOV.UK's accessible-autocomplete, which turns a plain select into a type-ahead."""
    if filename not in ("accessible-autocomplete.min.js", "accessible-autocomplete.min.css"):
        abort(404)
    folder = ROOT / "node_modules" / "accessible-autocomplete" / "dist"
    return send_from_directory(folder, filename, max_age=3600)


@assets.get("/static/app/<path:filename>")
def app_static(filename: str) -> ResponseReturnValue:
    """Serve the service's own few styles."""
    return send_from_directory(STATIC, filename, max_age=3600)


@home.get("/")
def start() -> ResponseReturnValue:
    """Send each user to the page they need most."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    role = current_user.role
    if role == "admin":
        return redirect(url_for("admin.index"))
    if role == "auditor":
        return redirect(url_for("oversight.outcomes"))
    return redirect(url_for("cases.your_cases"))


def init_app(app: Flask) -> None:
    """Attach templates, forms, sign-in, security headers, pages and error pages."""
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(ROOT / "templates")),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)
    csrf.init_app(app)
    security.init_app(app)
    helpers.init_app(app)
    auth.init_app(app)
    identity.init_app(app)
    blueprints = (
        assets, home, auth.bp, cases.bp, parties.bp, printing.bp, raising.bp, oversight.bp,
        admin.bp, account.bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    errors.init_app(app)
