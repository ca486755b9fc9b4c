"""Domain errors. The HTTP edge maps each ``type`` to one status code."""

from __future__ import annotations

SHOWN = 100


def shown(value: object) -> str:
    """A caller's value as an error message quotes it: its ``repr``, cut to ``SHOWN`` characters,
    so a refusal never echoes a huge input back (a batch of 1,000 refusals stays small enough
    to keep for its idempotency key)."""
    return cut(repr(value), SHOWN)


def cut(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and an ellipsis."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class BillingError(Exception):
    """Base of every error the core reports to a caller.

    ``type`` selects the HTTP status at the edge, ``code`` is a stable machine
    code, ``param`` names the offending field (dotted path, ``tags[2]``).
    ``retryable`` marks a refusal caused by a concurrent request: the same request
    may succeed when sent again, so its answer is not kept for an idempotency key.
    """

    type = "api_error"
    default_code = "internal_error"
    status: int | None = None  # set where one type answers with another status than its usual one

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        self.retryable = retryable

    def to_dict(self) -> dict[str, str | None]:
        return {"type": self.type, "code": self.code, "message": self.message, "param": self.param}


class InvalidRequest(BillingError):
    """Bad input (400): nothing was written."""

    type = "invalid_request_error"
    default_code = "parameter_invalid"


class PayloadTooLarge(InvalidRequest):
    """A request body over the size the endpoint accepts (413): nothing was written."""

    status = 413
    default_code = "payload_too_large"


class NotAcceptable(InvalidRequest):
    """The client does not accept the only type the resource has (406), e.g. a PDF."""

    status = 406
    default_code = "not_acceptable"


class Unauthenticated(BillingError):
    """Missing, malformed or revoked API key (401)."""

    type = "authentication_error"
    default_code = "invalid_api_key"


class NotFound(BillingError):
    """Unknown id, or an id that belongs to another tenant (404)."""

    type = "not_found_error"
    default_code = "resource_missing"


class Conflict(BillingError):
    """The request conflicts with stored state (409): duplicates, idempotency keys."""

    type = "conflict_error"
    default_code = "conflict"


class DomainRuleViolation(BillingError):
    """Well-formed input that a business rule refuses (422)."""

    type = "domain_error"
    default_code = "rule_violated"
