"""What a service refuses with: each maps to one error code of the API contract."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal that writes nothing."""

    code = "error"
    status = 400

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class Invalid(ServiceError):
    code = "validation_error"
    status = 422

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        """Return a refusal naming one field."""
        return cls(f"{name}: {message}", {name: [message]})
