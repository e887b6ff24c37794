"""HTML error pages for the web paths; /api/ paths answer in the API's JSON error shape."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PAGES = {
    400: ("errors/400.html", "bad_request"),
    403: ("errors/403.html", "forbidden"),
    404: ("errors/404.html", "not_found"),
    405: ("errors/405.html", "method_not_allowed"),
    413: ("errors/413.html", "too_large"),
    500: ("errors/500.html", "internal_error"),
}


def _for_api() -> bool:
    return request.path.startswith("/api/")


def _json(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message, "fields": {}}}), status


def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Show GOV.UK error pages for web paths and JSON for /api/ paths."""
    status = exc.code or 500
    template, code = PAGES.get(status, ("errors/400.html", "error"))
    if _for_api():
        return _json(status, code, exc.description or code)
    if isinstance(exc, CSRFError):
        return render_template("errors/csrf.html"), 400
    if status not in PAGES:
        return exc
    return render_template(template), status


def server_error(exc: Exception) -> ResponseReturnValue:
    """Show the 'sorry, there is a problem' page for an unexpected error."""
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception("unhandled error on %s", request.path, exc_info=exc)
    if _for_api():
        return _json(500, "internal_error", "something went wrong")
    return render_template("errors/500.html"), 500


def init_app(app: Flask) -> None:
    """Register the handlers for the whole app."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, server_error)
