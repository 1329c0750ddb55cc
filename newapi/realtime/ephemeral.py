"""``POST /v1/realtime/sessions`` (beta) and ``/v1/realtime/client_secrets`` (GA).

Relayed like the other HTTP endpoints - key checks, model checks, channel choice with failover,
the reservation - with the model mapped where the body carries it (``model`` for sessions,
``session.model`` for client secrets). The answer holds an ephemeral key for a browser. These
calls report no token usage: in ratio mode they cost 0 and are logged with 0 tokens; with a
``ModelPrice`` they cost the per-call price. Channels: OpenAI and OpenAI-compatible ones, and
Azure on its v1 API (``other`` = ``v1``: ``/openai/v1/realtime/client_secrets``).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from quart import Response, after_this_request, request

from newapi.adaptors.azure import Azure
from newapi.adaptors.base import Adaptor
from newapi.adaptors.openai import OpenAICompatible
from newapi.errors import InvalidRelayRequest, UpstreamFailed
from newapi.protocol.usage import Usage
from newapi.relay.auth import authenticate
from newapi.relay.http_connection import open_body
from newapi.relay.metering import settle
from newapi.relay.pipeline import open_for_job, read_json, start_job
from newapi.relay.ratelimit import admit
from newapi.routing.index import ChannelSnapshot
from newapi.state import app_state


def model_of(body: dict[str, Any]) -> str:
    session = body.get("session")
    nested = session.get("model") if isinstance(session, dict) else None
    model = body.get("model") or nested
    if not isinstance(model, str) or not model:
        raise InvalidRelayRequest("model is required (model, or session.model)")
    return model


def with_model(body: dict[str, Any], model: str) -> dict[str, Any]:
    """``body`` with the upstream model where the caller put its model."""
    session = body.get("session")
    if isinstance(session, dict) and "model" in session:
        return {**body, "session": {**session, "model": model}}
    return {**body, "model": model}


def serves(channel: ChannelSnapshot, adaptor: Adaptor) -> bool:
    if isinstance(adaptor, Azure):
        return channel.other.strip().startswith("v1")
    return isinstance(adaptor, OpenAICompatible)


async def relay_ephemeral(endpoint: str) -> Response:
    state = app_state()
    options = state.options.current
    # The body is let in only after the header-only checks (relay.http_connection).
    caller = await authenticate(state.entities, options)
    admission = await admit(state.cache, options, caller)
    after_this_request(admission.finish)
    open_body()
    body = await read_json()
    job = await start_job(state, caller, request.path, body, model_of(body), False)

    def build(channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes | None:
        if not serves(channel, adaptor):
            return None
        return orjson.dumps(with_model(body, upstream_model))

    opened = await open_for_job(state, job, endpoint, build)
    try:
        raw = await opened.response.read()
    except (aiohttp.ClientError, TimeoutError):
        await settle(state, job, None, None)
        raise UpstreamFailed("the upstream connection broke while answering") from None
    finally:
        opened.response.release()
    await settle(state, job, opened.channel, Usage(), upstream_model=opened.upstream_model)
    content_type = opened.response.headers.get("Content-Type", "application/json")
    response = Response(raw, status=opened.response.status, content_type=content_type)
    response.headers["X-Oneapi-Request-Id"] = job.request_id
    return response
