"""One error tree for the whole gateway.

Every failure newapi reports on purpose is a :class:`GatewayError`. Each class knows the HTTP
status a relay caller sees; renderers turn an error into the body of the caller's own format.
The admin API (new-api's convention) answers most logical errors with HTTP 200 and
``success: false``; only authentication, size and rate-limit errors keep their status there.

    GatewayError
    ├── BadRequest            400  malformed JSON, wrong types, invalid values
    ├── Unauthorized          401  no or wrong credentials
    ├── Forbidden             403  authenticated but not allowed
    ├── NotFound              404  unknown id or route
    ├── Conflict              409  duplicate name or key
    ├── PayloadTooLarge       413  body over MAX_REQUEST_BODY_MB
    ├── RateLimited           429  a rate limit was hit
    ├── PriceDataUnavailable  502  newer price data could not be fetched or read
    └── ServiceUnavailable    503  a dependency (database, cache) is down
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    # Status in the admin API's envelope; None means "HTTP 200 with success:false".
    admin_status: ClassVar[int | None] = None
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = {}  # extra response headers, e.g. Retry-After

    def retry_after(self, seconds: float) -> GatewayError:
        """Tell the caller when to come back (whole seconds, at least 1)."""
        self.headers["Retry-After"] = str(max(math.ceil(seconds), 1))
        return self


class BadRequest(GatewayError):
    status = 400
    code = "invalid_request"


class Unauthorized(GatewayError):
    status = 401
    admin_status = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class PayloadTooLarge(GatewayError):
    status = 413
    admin_status = 413
    code = "payload_too_large"


class RateLimited(GatewayError):
    status = 429
    admin_status = 429
    code = "rate_limited"


class PriceDataUnavailable(GatewayError):
    status = 502
    code = "price_data_unavailable"


class ServiceUnavailable(GatewayError):
    status = 503
    admin_status = 503
    code = "service_unavailable"


def admin_body(error: GatewayError) -> tuple[dict[str, Any], int]:
    """new-api's envelope for an admin-API error, and its HTTP status."""
    return {"success": False, "message": error.message}, error.admin_status or 200


# ---- relay errors: rendered in the caller's own format ----------------------------------------


class RelayError(GatewayError):
    """An error a relay caller sees; ``kind`` is the OpenAI ``error.type``."""

    status: ClassVar[int] = 500
    kind: ClassVar[str] = "new_api_error"
    claude_kind: ClassVar[str] = "api_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.error_code = code or self.code
        self.http_status = status or self.status


class InvalidRelayRequest(RelayError):
    status = 400
    kind = "invalid_request_error"
    claude_kind = "invalid_request_error"
    code = "invalid_request"


class RelayUnauthorized(RelayError):
    status = 401
    kind = "authentication_error"
    claude_kind = "authentication_error"
    code = "invalid_api_key"


class RelayForbidden(RelayError):
    status = 403
    kind = "permission_error"
    claude_kind = "permission_error"
    code = "access_denied"


class InsufficientQuota(RelayError):
    status = 403
    kind = "insufficient_quota"
    claude_kind = "permission_error"
    code = "insufficient_user_quota"


class ModelNotFound(RelayError):
    status = 404
    kind = "invalid_request_error"
    claude_kind = "not_found_error"
    code = "model_not_found"


class NoAvailableChannel(RelayError):
    status = 503
    kind = "new_api_error"
    claude_kind = "overloaded_error"
    code = "model_not_found"


class RelayRateLimited(RelayError):
    status = 429
    kind = "rate_limit_error"
    claude_kind = "rate_limit_error"
    code = "rate_limit_exceeded"


class PriceNotConfigured(RelayError):
    """A served model with no ratio or price: the administrator's to fix, so a 400 that no
    client retries (new-api answers 500, which SDKs, Claude Code and Codex retry)."""

    status = 400
    kind = "invalid_request_error"
    claude_kind = "invalid_request_error"
    code = "model_price_error"


class UpstreamFailed(RelayError):
    """Every attempt failed; carries the last upstream status and message (keys redacted)."""

    status = 502
    kind = "upstream_error"
    claude_kind = "api_error"
    code = "upstream_error"


def openai_body(error: RelayError) -> dict[str, Any]:
    return {
        "error": {
            "message": error.message,
            "type": error.kind,
            "param": None,
            "code": error.error_code,
        }
    }


def claude_body(error: RelayError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error.claude_kind, "message": error.message}}


# Google's RPC status names by HTTP status (google.rpc.Code as the Gemini API reports it).
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_status(http_status: int) -> str:
    if http_status in GOOGLE_STATUS:
        return GOOGLE_STATUS[http_status]
    return "FAILED_PRECONDITION" if http_status < 500 else "INTERNAL"


def gemini_body(error: RelayError) -> dict[str, Any]:
    """Google's error shape, as the Gemini API and its SDKs expect it."""
    status = error.http_status
    return {"error": {"code": status, "message": error.message, "status": google_status(status)}}
