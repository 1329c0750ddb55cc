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
    └── ServiceUnavailable    503  a dependency (database, cache) is down
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    # Status in the admin API's envelope; None means "HTTP 200 with success:false".
    admin_status: ClassVar[int | None] = None
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class ServiceUnavailable(GatewayError):
    status = 503
    admin_status = 503
    code = "service_unavailable"


def admin_body(error: GatewayError) -> tuple[dict[str, Any], int]:
    """new-api's envelope for an admin-API error, and its HTTP status."""
    return {"success": False, "message": error.message}, error.admin_status or 200
