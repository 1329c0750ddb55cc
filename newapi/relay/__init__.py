"""The relay: ``/v1`` endpoints that authenticate a key, pick a channel, call it and bill."""

from __future__ import annotations

import logging

import orjson
from quart import Blueprint, Response, g, request

from newapi.errors import GatewayError, RelayError, claude_body, gemini_body, openai_body

log = logging.getLogger(__name__)


def relay_blueprint(name: str) -> Blueprint:
    """A blueprint of relay routes: errors in the caller's format, any origin allowed.

    The hooks are attached once, where the blueprint is made, so registering the blueprints on
    several apps in one process (tests, embedding) never stacks them.
    """
    blueprint = Blueprint(name, __name__)
    blueprint.register_error_handler(GatewayError, render_error)
    blueprint.after_request(allow_any_origin)
    return blueprint


def relay_blueprints() -> list[Blueprint]:
    from newapi.relay import billing_api, claude_api, gemini_api, media, openai_api

    return [openai_api.bp, claude_api.bp, gemini_api.bp, media.bp, billing_api.bp]


async def allow_any_origin(response: Response) -> Response:
    """CORS as new-api's relay: any origin may call with a key (browser apps, key checkers).

    No credentials are allowed: relay calls carry the key in a header, never a cookie, so a
    page on another origin can never ride on a console session.
    """
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "X-Oneapi-Request-Id, Retry-After"
    if request.method == "OPTIONS":
        asked = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = asked or "*"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def as_relay_error(error: GatewayError) -> RelayError:
    if isinstance(error, RelayError):
        return error
    mapped = RelayError(error.message, code=error.code, status=error.status)
    return mapped


async def render_error(error: GatewayError) -> Response:
    from newapi.relay.auth import is_gemini_path
    from newapi.relay.errorlog import record_error
    from newapi.state import app_state

    relay_error = as_relay_error(error)
    record_error(app_state(), relay_error)
    if request.path.startswith("/v1/messages"):
        body = claude_body(relay_error)
    elif is_gemini_path(request.path):
        body = gemini_body(relay_error)
    else:
        body = openai_body(relay_error)
    response = Response(
        orjson.dumps(body), status=relay_error.http_status, content_type="application/json"
    )
    response.headers.update(error.headers)
    job = g.get("relay_job")
    if job is not None:
        response.headers["X-Oneapi-Request-Id"] = job.request_id
    return response
