"""The few domain errors every layer raises; the API maps each to one status code in one place."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, detail: str, code: str | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


def row_id(value, noun: str) -> int:
    """The integer key behind an id from a URL; 404 for anything that cannot be one (no database overflow)."""
    try:
        if not 0 < (key := int(value)) < 2**31:
            raise ValueError(value)
    except (TypeError, ValueError):
        raise NotFound(f"no {noun} {value!r}") from None
    return key


class Unauthorized(DomainError):
    status_code, code = 401, "unauthorized"


class Forbidden(DomainError):
    status_code, code = 403, "forbidden"


class Invalid(DomainError):
    status_code, code = 422, "invalid"


class NotFound(DomainError):
    status_code, code = 404, "not_found"


class Conflict(DomainError):
    status_code, code = 409, "conflict"


class PreconditionFailed(DomainError):
    status_code, code = 412, "precondition_failed"


class TooLarge(DomainError):
    status_code, code = 413, "too_large"
