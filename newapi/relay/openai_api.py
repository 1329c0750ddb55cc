"""``/v1`` endpoints in OpenAI's format: chat, completions, embeddings, moderations, ..."""

from __future__ import annotations

from typing import Protocol

import orjson
from quart import Response, after_this_request, request

from newapi.errors import (
    InvalidRelayRequest,
    ModelNotFound,
)
from newapi.relay import relay_blueprint
from newapi.relay.auth import authenticate, is_gemini_path
from newapi.relay.choose import Translators
from newapi.relay.http_connection import body_after_checks, open_body
from newapi.relay.job import Job
from newapi.relay.pipeline import (
    finish_plain,
    open_for_job,
    read_json,
    relay_stream,
    start_job,
)
from newapi.relay.ratelimit import admit
from newapi.relay.stream import STREAM_HEADERS
from newapi.relay.translate import (
    CallerFormat,
    StreamTranslator,
    stream_for,
)
from newapi.routing.groups import serving_groups
from newapi.routing.index import split_list
from newapi.state import app_state

bp = relay_blueprint("relay_openai")

STREAMABLE = frozenset({"chat/completions", "completions", "responses"})
DEFAULT_MODELS = {"moderations": "text-moderation-stable"}


async def visible_models() -> tuple[str, ...]:
    """The models the calling key may use: its groups' models, within its model limits."""
    state = app_state()
    caller = await authenticate(state.entities, state.options.current)
    index = state.channels.index
    groups = caller.auto_groups or (caller.group,)
    models = tuple(sorted({m for group in groups for m in index.models_for_group(group)}))
    if caller.token.get("model_limits_enabled"):
        # Same rule as the relay's check: an enabled but empty list allows nothing.
        allowed = set(split_list(caller.token.get("model_limits")))
        models = tuple(m for m in models if m in allowed)
    return models


@bp.get("/v1/models")
@bp.get("/v1beta/openai/models")
async def list_models() -> Response:
    if is_gemini_path(request.path):  # a Google key header: Gemini's list shape (new-api)
        from newapi.relay.gemini_api import gemini_model_list

        return Response(orjson.dumps(await gemini_model_list()), content_type="application/json")
    models = await visible_models()
    data = [
        {"id": m, "object": "model", "created": 1626777600, "owned_by": "newapi"} for m in models
    ]
    return Response(orjson.dumps({"object": "list", "data": data}), content_type="application/json")


@bp.get("/v1/models/<path:model>")
async def retrieve_model(model: str) -> Response:
    state = app_state()
    caller = await authenticate(state.entities, state.options.current)
    token = caller.token
    # A model the key may not call is not described either: it does not exist for this key.
    hidden = token.get("model_limits_enabled") and model not in split_list(token["model_limits"])
    groups = caller.auto_groups or (caller.group,)
    if hidden or not serving_groups(state.channels.index, groups, model):
        raise ModelNotFound(f"The model '{model}' does not exist")
    body = {"id": model, "object": "model", "created": 1626777600, "owned_by": "newapi"}
    return Response(orjson.dumps(body), content_type="application/json")


@bp.post("/v1/responses")
@body_after_checks
async def responses() -> Response:
    # Passed through to upstreams with the Responses API, converted for the others.
    return await relay("responses", caller_format="responses")


@bp.post("/v1/responses/compact")
@body_after_checks
async def compact_response() -> Response:
    # Compaction items are the upstream's own encrypted state: passed through only.
    return await relay("responses/compact", caller_format="responses")


@bp.post("/v1/chat/completions")
@bp.post("/v1beta/openai/chat/completions")  # Google's OpenAI-compatible path
@body_after_checks
async def chat_completions() -> Response:
    return await relay("chat/completions")


@bp.post("/v1/completions")
@body_after_checks
async def completions() -> Response:
    return await relay("completions")


@bp.post("/v1/embeddings")
@bp.post("/v1beta/openai/embeddings")
@body_after_checks
async def embeddings() -> Response:
    return await relay("embeddings")


@bp.post("/v1/moderations")
@body_after_checks
async def moderations() -> Response:
    return await relay("moderations")


@bp.post("/v1/rerank")
@body_after_checks
async def rerank() -> Response:
    return await relay("rerank")


@bp.post("/v1/images/generations")
@body_after_checks
async def image_generations() -> Response:
    return await relay("images/generations")


async def relay(
    endpoint: str,
    caller_format: CallerFormat = "openai",
    *,
    model: str | None = None,
    stream: bool | None = None,
    gemini_action: str = "",
    framing: Framing | None = None,
) -> Response:
    """Relay one call. ``model`` and ``stream`` come from the body unless the route knows
    them (Gemini's URL names both); ``framing`` re-frames a stream for the caller."""
    state = app_state()
    options = state.options.current
    # Header-only checks before the body is let in: a refusal sends none of it into memory
    # and closes the connection (relay.http_connection).
    caller = await authenticate(state.entities, options)
    admission = await admit(state.cache, options, caller)  # 429 past the model request limit
    after_this_request(admission.finish)  # a final status >= 400 is not a success
    open_body()
    body = await read_json()
    model = model or body.get("model") or DEFAULT_MODELS.get(endpoint)
    if not isinstance(model, str) or not model:
        raise InvalidRelayRequest("model is required")
    if stream is None:
        stream = endpoint in STREAMABLE and body.get("stream") is True
    job = await start_job(state, caller, request.path, body, model, stream)
    translators = Translators(
        job,
        caller_format,
        endpoint,
        state.settings.force_stream_option,
        state.settings.gemini_safety_setting,
        gemini_action,
    )
    opened = await open_for_job(state, job, endpoint, translators.body, gemini_action=gemini_action)
    translator = translators.for_opened(opened.adaptor, opened.upstream_model)
    content_type = opened.response.headers.get("Content-Type", "")
    if stream and "text/event-stream" in content_type:
        events = stream_for(translator, opened.channel, caller_format)
        headers = STREAM_HEADERS
        if framing is not None:
            events, headers = framing(events), framing.headers
        response = Response(relay_stream(state, job, opened, events), headers=headers)
        response.timeout = None
        return _tag(response, job)
    return _tag(await finish_plain(state, job, opened, translator), job)


class Framing(Protocol):
    """Re-frames a caller's stream (Gemini's JSON-array stream instead of SSE)."""

    headers: dict[str, str]

    def __call__(self, inner: StreamTranslator) -> StreamTranslator: ...


def _tag(response: Response, job: Job) -> Response:
    response.headers["X-Oneapi-Request-Id"] = job.request_id
    return response
