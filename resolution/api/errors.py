"""One error shape for everything under /api/: `{"error": {"code", "message", "fields"}}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, default_exceptions

from ..services.errors import ServiceError

log = logging.getLogger(__name__)

CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
}
# Headers of Werkzeug's own error responses worth keeping (e.g. Allow on a 405).
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class ApiError(Exception):
    """A refusal raised by the API door itself (auth, body, headers)."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})

    @classmethod
    def field(cls, name: str, message: str, status: int = 422) -> ApiError:
        """Return a refusal naming one field."""
        return cls(status, f"{name}: {message}", {name: [message]})


def is_api_request() -> bool:
    """Say whether the current request is for the JSON API."""
    return request.path.startswith("/api/")


def error_response(
    status: int,
    message: str,
    fields: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> ResponseReturnValue:
    """Return the JSON error body and status."""
    body = {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": message,
            "fields": dict(fields or {}),
        }
    }
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Return marshmallow's nested messages as {"dotted.field": [text, ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = (
                "body"
                if key == "_schema" and not prefix
                else (f"{prefix}.{key}" if prefix else str(key))
            )
            for inner, texts in flatten(value, name).items():
                out.setdefault(inner, []).extend(texts)
    elif isinstance(messages, list | tuple):
        texts = [m for m in messages if isinstance(m, str)]
        if texts:
            out[prefix or "body"] = texts
        for item in messages:
            if not isinstance(item, str):
                for inner, more in flatten(item, prefix).items():
                    out.setdefault(inner, []).extend(more)
    else:
        out[prefix or "body"] = [str(messages)]
    return out


def summary(fields: Mapping[str, list[str]]) -> str:
    """Return a one-line message naming each field and what is wrong with it."""
    return (
        "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields.items())
        or "the request is invalid"
    )


def validation_error(exc: ValidationError, where: str = "") -> ApiError:
    """Return a 422 naming every field marshmallow refused."""
    fields = flatten(exc.messages, where)
    fields = {
        k: [t.replace("Unknown field.", "unknown field: remove it") for t in v]
        for k, v in fields.items()
    }
    return ApiError(422, summary(fields), fields)


def _service_error(exc: ServiceError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, exc.fields, code=exc.code)


def _api_error(exc: ApiError) -> ResponseReturnValue:
    return error_response(exc.status, exc.message, exc.fields, exc.headers)


def _http_json(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k in KEPT_HEADERS}
    if status == 400:  # a body Werkzeug could not read is bad input, not a bad request line
        status = 422
        return error_response(
            422, f"body: {exc.description or 'could not be read'}", {"body": ["could not be read"]}
        )
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"body: the request is larger than the limit of {limit} bytes"
        return error_response(413, message, {"body": [f"at most {limit} bytes"]}, headers)
    if status >= 500:
        log.error("error %s on %s", status, request.path)
        return error_response(status, "something went wrong on our side", code="internal_error")
    return error_response(status, exc.description or CODES.get(status, "error"), headers=headers)


def api_http_error(exc: HTTPException) -> ResponseReturnValue | HTTPException:
    """Answer /api/ paths in JSON; hand any other path to the app's own HTML handler."""
    if is_api_request():
        return _http_json(exc)
    fallback = current_app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)
    if fallback is not None and fallback is not api_http_error:
        # As Flask calls a handler: ensure_sync (typed as returning Any) runs an async one too.
        answer: ResponseReturnValue = current_app.ensure_sync(fallback)(exc)
        return answer
    return exc


def _unexpected(exc: Exception) -> ResponseReturnValue:
    """Log an unexpected error in an API view and answer 500 in the JSON shape."""
    original = getattr(exc, "original_exception", None) or exc
    log.exception("unhandled error on %s", request.path, exc_info=original)
    return error_response(500, "something went wrong on our side", code="internal_error")


def attach(blueprint: Blueprint) -> None:
    """Register the blueprint's own handlers: refusals of services and of the door, crashes."""
    blueprint.register_error_handler(ServiceError, _service_error)
    blueprint.register_error_handler(ApiError, _api_error)
    blueprint.register_error_handler(500, _unexpected)


def init_app(app: Flask) -> None:
    """Register the app-wide JSON handlers for /api/ paths (routing errors happen outside blueprints)."""
    # By status code, so they take precedence over any app-wide HTTPException handler;
    # they pass other paths on to that handler, so HTML pages stay as they are.
    for code in default_exceptions:
        if code != 500:
            app.register_error_handler(code, api_http_error)
