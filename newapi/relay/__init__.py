"""The relay: ``/v1`` endpoints that authenticate a key, pick a channel, call it and bill."""

from __future__ import annotations

import logging

import orjson
from quart import Blueprint, Response, request

from newapi.errors import GatewayError, RelayError, claude_body, openai_body

log = logging.getLogger(__name__)


def relay_blueprints() -> list[Blueprint]:
    from newapi.relay import billing_api, claude_api, media, openai_api

    blueprints = [openai_api.bp, claude_api.bp, media.bp, billing_api.bp]
    for blueprint in blueprints:
        blueprint.register_error_handler(GatewayError, render_error)
    return blueprints


def as_relay_error(error: GatewayError) -> RelayError:
    if isinstance(error, RelayError):
        return error
    mapped = RelayError(error.message, code=error.code, status=error.status)
    return mapped


async def render_error(error: GatewayError) -> Response:
    relay_error = as_relay_error(error)
    claude = request.path.startswith("/v1/messages")
    body = claude_body(relay_error) if claude else openai_body(relay_error)
    return Response(
        orjson.dumps(body), status=relay_error.http_status, content_type="application/json"
    )
