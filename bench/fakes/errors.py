"""Error bodies exactly as each provider sends them, over HTTP and inside a stream.

- OpenAI: ``{"error": {"message", "type", "param", "code"}}``.
- Azure: the gateway (APIM) errors 401/404/408/429 are ``{"error": {"code": "<status>",
  "message"}}``; model errors (400, 5xx) come through in OpenAI's shape.
- Anthropic: ``{"type": "error", "error": {"type", "message"}, "request_id"}``; mid-stream as
  ``event: error``.
- Google (Gemini, Vertex AI): ``{"error": {"code": <HTTP status>, "message", "status":
  "<canonical code name>"}}``; mid-stream as a ``data:`` event with the same body. On Vertex's
  Anthropic publisher the model's errors are Anthropic's, but Google's front end (credentials)
  answers in Google's shape: :class:`GoogleError`.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bench.fakes.call import GOOGLE, Call, json_response, new_id, sse_data, sse_named
from bench.fakes.scenario import FakeError


class GoogleError(FakeError):
    """An error from Google's front end: Google's shape whatever the publisher's format."""


_OPENAI: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request to the fake provider."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} in organization org-fake on requests per min (RPM): "
        "Limit 3, Used 3, Requested 1. Please try again in 20s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}

_AZURE_GATEWAY: dict[int, tuple[str, str]] = {
    401: (
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API "
        "endpoint for your resource.",
    ),
    404: ("404", "Resource not found"),
    408: ("408", "Request timed out."),
    429: (
        "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
        "{version} have exceeded token rate limit of your current OpenAI S0 pricing tier. "
        "Please retry after 6 seconds.",
    ),
}

_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: (
        "billing_error",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
    ),
    403: ("permission_error", "Your API key does not have permission to use the resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per "
        "minute. Please reduce the rate of requests or try again later.",
    ),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


# HTTP status -> (google.rpc.Code name, the API's usual message). ``FakeError.type`` overrides
# the name (e.g. FAILED_PRECONDITION, also a 400).
_GOOGLE: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: (
        "NOT_FOUND",
        "models/{model} is not found for API version {version}, or is not supported for "
        "{method}. Call ListModels to see the list of available models and their supported "
        "methods.",
    ),
    409: ("ABORTED", "The operation was aborted."),
    429: (
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    ),
    499: ("CANCELLED", "The operation was cancelled."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    501: ("UNIMPLEMENTED", "Method not implemented."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}

_VERTEX_NOT_FOUND = (
    "Publisher Model `projects/{project}/locations/{location}/publishers/google/models/{model}` "
    "was not found or your project does not have access to it. Please ensure you are using a "
    "valid model version."
)


def mask_key(key: str) -> str:
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


def _fill(template: str, call: Call) -> str:
    path = call.request.match_info
    return template.format(
        key=mask_key(call.api_key),
        model=call.model,
        version=call.request.query.get("api-version") or path.get("version", "v1"),
        method=path.get("method", "generateContent"),
        project=path.get("project", ""),
        location=path.get("location", ""),
    )


def openai_error(call: Call, error: FakeError) -> dict[str, Any]:
    default_type = "server_error" if error.status >= 500 else "invalid_request_error"
    type_, code, template = _OPENAI.get(
        error.status, (default_type, None, f"Fake upstream error (HTTP {error.status}).")
    )
    return {
        "error": {
            "message": error.message if error.message is not None else _fill(template, call),
            "type": error.type or type_,
            "param": error.param,
            "code": error.code if error.code is not None else code,
        }
    }


def azure_error(call: Call, error: FakeError) -> dict[str, Any]:
    gateway = _AZURE_GATEWAY.get(error.status)
    if gateway is None:
        return openai_error(call, error)
    code, template = gateway
    body: dict[str, Any] = {
        "code": error.code or code,
        "message": error.message if error.message is not None else _fill(template, call),
    }
    if error.type:
        body["type"] = error.type
    return {"error": body}


def anthropic_error(call: Call, error: FakeError) -> dict[str, Any]:
    default_type = "api_error" if error.status >= 500 else "invalid_request_error"
    type_, template = _ANTHROPIC.get(
        error.status, (default_type, f"Fake upstream error (HTTP {error.status}).")
    )
    message = error.message if error.message is not None else _fill(template, call)
    return {"type": "error", "error": {"type": error.type or type_, "message": message}}


def google_error(call: Call, error: FakeError) -> dict[str, Any]:
    """Google's error body; any status maps to a canonical name (4xx/5xx fallbacks)."""
    fallback = "INTERNAL" if error.status >= 500 else "FAILED_PRECONDITION"
    status, template = _GOOGLE.get(
        error.status, (fallback, f"Fake upstream error (HTTP {error.status}).")
    )
    if error.status == 404 and call.provider == "vertex":
        template = _VERTEX_NOT_FOUND
    message = error.message if error.message is not None else _fill(template, call)
    return {"error": {"code": error.status, "message": message, "status": error.type or status}}


def _anthropic_shaped(call: Call, error: FakeError) -> bool:
    if call.provider == "vertex-anthropic":
        return not isinstance(error, GoogleError)
    return call.provider == "anthropic"


def error_body(call: Call, error: FakeError) -> dict[str, Any]:
    if _anthropic_shaped(call, error):
        return anthropic_error(call, error)
    if call.provider in GOOGLE:
        return google_error(call, error)
    if call.provider == "azure":
        return azure_error(call, error)
    return openai_error(call, error)


def error_response(call: Call, error: FakeError) -> web.Response:
    body = error_body(call, error)
    headers: dict[str, str] = {}
    if _anthropic_shaped(call, error):
        request_id = new_id("req_")
        body["request_id"] = request_id
        headers["request-id"] = request_id
    if error.retry_after is not None:
        headers["retry-after"] = str(error.retry_after)
    return json_response(call, body, status=error.status, headers=headers)


def stream_error_event(call: Call, error: FakeError) -> bytes:
    """The provider's in-stream error, sent after a 200 has already started."""
    if _anthropic_shaped(call, error):
        return sse_named("error", anthropic_error(call, error))
    if call.provider in GOOGLE:
        return b"data: " + orjson.dumps(google_error(call, error)) + b"\r\n\r\n"
    return sse_data(error_body(call, error))
