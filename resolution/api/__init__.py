"""The JSON API door, contract v1, at /api/v1: bearer tokens, marshmallow schemas, OpenAPI 3."""

from __future__ import annotations

from flask import Flask

from ..extensions import csrf
from . import case_people, errors, everyday  # noqa: F401 (everyday adds its endpoints to bp)
from .views import bp

__all__ = ["case_people", "init_app"]  # case_people adds its routes to bp


def init_app(app: Flask) -> None:
    """Register the blueprint (exempt from CSRF: it takes no cookies) and its JSON error handlers."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    errors.init_app(app)
