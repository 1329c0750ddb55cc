"""``/v1/messages``: Anthropic's Messages API, on Anthropic or OpenAI-compatible channels;
``/v1/messages/count_tokens`` beside it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aiohttp
import orjson
from quart import Response, g, request

from newapi.adaptors.anthropic import COUNT_TOKENS
from newapi.adaptors.base import Adaptor, Call
from newapi.adaptors.registry import adaptor_for
from newapi.errors import InvalidRelayRequest, UpstreamFailed
from newapi.protocol.convert import messages_request_to_chat
from newapi.protocol.tokens import count_messages
from newapi.relay import relay_blueprint
from newapi.relay.auth import Caller, authenticate, check_model_allowed
from newapi.relay.http_connection import body_after_checks, open_body
from newapi.relay.openai_api import relay
from newapi.relay.pipeline import read_json, route_auto_group
from newapi.relay.upstream import Attempts, candidates, map_model, open_upstream
from newapi.routing.index import ChannelSnapshot, RoutingIndex
from newapi.state import AppState, app_state

bp = relay_blueprint("relay_claude")


@bp.post("/v1/messages")
@body_after_checks
async def messages() -> Response:
    # Routed like chat: an OpenAI-compatible channel gets /v1/chat/completions (converted),
    # an Anthropic channel /v1/messages (passed through).
    return await relay("chat/completions", caller_format="claude")


@bp.post("/v1/messages/count_tokens")
@body_after_checks
async def count_tokens() -> Response:
    """``{"input_tokens": N}``, never billed: asked of an Anthropic channel serving the model
    (its own count, ``?beta=true`` and ``anthropic-beta`` passed on), else counted locally
    (tiktoken for OpenAI models, new-api's estimator for the rest) when only channels of other
    formats serve it. Errors come in Claude's shape (the blueprint's handler)."""
    state = app_state()
    caller = await authenticate(state.entities, state.options.current)
    open_body()
    body = await read_json()
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRelayRequest("model is required")
    if not isinstance(body.get("messages"), list):
        raise InvalidRelayRequest("messages is required")
    g.relay_model = model
    check_model_allowed(caller, model)
    candidates(state.channels.index, caller, model)  # 503 model_not_found when none serves it
    caller = route_auto_group(state, caller, model)
    channel_id = _counting_channel(state.channels.index, caller, model)
    if channel_id is None:
        return _counted(_local_count(body, model))
    return await _ask_upstream(state, replace(caller, forced_channel=channel_id), body, model)


def _counting_channel(index: RoutingIndex, caller: Caller, model: str) -> int | None:
    """The first channel, highest priority first, that can count tokens itself (Anthropic)."""
    for tier in candidates(index, caller, model):
        for channel_id, _weight in tier:
            channel = index.channel(channel_id)
            if channel is None:
                continue
            adaptor = adaptor_for(channel.type, map_model(channel.model_mapping, model))
            if (
                adaptor is not None
                and adaptor.wire_format == "claude"
                and (adaptor.endpoints is None or COUNT_TOKENS in adaptor.endpoints)
            ):
                return channel_id
    return None


def _local_count(body: dict[str, Any], model: str) -> int:
    """The prompt as chat (system, turns, tool results, tool definitions), counted as the relay
    counts a chat prompt."""
    chat = messages_request_to_chat(body, upstream_model=model, include_usage=False)
    return count_messages(model, chat["messages"], chat.get("tools"))


async def _ask_upstream(
    state: AppState, caller: Caller, body: dict[str, Any], model: str
) -> Response:
    options = state.options.current
    call = Call(
        COUNT_TOKENS,
        model,
        False,
        {k.lower(): v for k, v in request.headers.items()},
        caller_query=dict(request.args),
    )

    def build(channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        return orjson.dumps({**body, "model": upstream_model})

    opened = await open_upstream(
        state.http,
        state.channels.index,
        caller,
        model=model,
        call=call,
        build_body=build,
        retry_times=0,
        retry_ranges=options.status_ranges("AutomaticRetryStatusCodes"),
        attempts=Attempts(),
        tokens=state.access_tokens,
    )
    try:
        raw = await opened.response.read()
    except (aiohttp.ClientError, TimeoutError):
        raise UpstreamFailed("the upstream connection broke while answering") from None
    finally:
        opened.response.release()
    return Response(raw, status=opened.response.status, content_type="application/json")


def _counted(tokens: int) -> Response:
    return Response(orjson.dumps({"input_tokens": tokens}), content_type="application/json")
