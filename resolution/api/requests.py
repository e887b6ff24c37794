"""Reading what a request carries: the bearer token, the JSON body, the query, If-Match."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, g, request
from marshmallow import Schema, ValidationError

from ..context import service_context
from ..extensions import db
from ..models import User
from ..services import accounts
from ..services.core import Context
from .errors import ApiError, validation_error

IF_MATCH = re.compile(r'^(?:W/)?("?)([0-9]{1,9})\1$')
CHALLENGE = 'Bearer realm="resolution"'
MAX_ID = 2**31 - 1  # ids are 32-bit integers: beyond this none exists (PostgreSQL would refuse it)


def authenticate() -> None:
    """Find the user of the request's bearer token, or refuse with 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise ApiError(
            401,
            "give an API token: Authorization: Bearer TOKEN",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    ctx = service_context()
    user = (
        accounts.user_for_token(db.session(), ctx, token.strip())
        if scheme.lower() == "bearer"
        else None
    )
    if user is None:
        raise ApiError(
            401,
            "the token is not valid: it is unknown, expired, revoked or its user is deactivated",
            headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'},
        )
    g.api_user = user
    g.api_ctx = ctx


def caller() -> User:
    """Return the signed-in user of this request."""
    user: User = g.api_user  # set by authenticate() above
    return user


def context() -> Context:
    """Return this request's service context (the real time, read once)."""
    ctx: Context = g.api_ctx  # set by authenticate() above
    return ctx


def require_role(*roles: str) -> User:
    """Return the caller if their role is one of `roles`, else refuse with 403."""
    user = caller()
    if user.role not in roles:
        raise ApiError(403, f"only {' and '.join(roles)} users may do this")
    return user


def known_id(value: int, what: str) -> int:
    """Refuse an id too large to exist, as not found."""
    if value > MAX_ID:
        raise ApiError(404, f"no {what} {value}")
    return value


def body(schema: type[Schema], *, optional: bool = False) -> dict[str, Any]:
    """Return the JSON body loaded through `schema`, or refuse with 422 naming the field."""
    raw = request.get_data(cache=True)
    if not raw.strip() and optional:
        data: Any = {}
    else:
        if not raw.strip():
            raise ApiError.field("body", "send a JSON object")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError.field("body", f"is not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise ApiError.field("body", "must be a JSON object")
    try:
        loaded: dict[str, Any] = schema().load(data)
        return loaded
    except ValidationError as exc:
        raise validation_error(exc) from None
    except RecursionError:
        raise ApiError.field("body", "is nested too deeply") from None


def query(schema: type[Schema]) -> dict[str, Any]:
    """Return the query string loaded through `schema`, or refuse with 422 naming the parameter."""
    args: dict[str, str] = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            raise ApiError.field(name, "give it once")
        args[name] = values[0]
    try:
        loaded: dict[str, Any] = schema().load(args)
        return loaded
    except ValidationError as exc:
        raise validation_error(exc) from None


def if_match(required: bool) -> int | None:
    """Return the case version named by If-Match (`3`, `"3"` or `W/"3"`)."""
    value = request.headers.get("If-Match")
    if value is None or not value.strip():
        if required:
            raise ApiError.field(
                "If-Match", "give the case version you last saw, from the case's ETag"
            )
        return None
    found = IF_MATCH.match(value.strip())
    if found is None:
        raise ApiError.field("If-Match", 'must be a case version such as 3, "3" or W/"3"')
    return int(found.group(2))


def etag(version: int) -> str:
    """Return the ETag header value of a case version."""
    return f'"{version}"'


def max_body() -> int | None:
    """Return the request size limit in bytes."""
    limit: int | None = current_app.config.get("MAX_CONTENT_LENGTH")
    return limit
