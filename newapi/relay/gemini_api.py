"""Google's Gemini API: ``/v1beta/models/{model}:{method}`` (and the ``v1`` paths google-genai
calls), on Gemini and Vertex AI channels (passed through) or any other channel (converted).

The key comes from ``x-goog-api-key``, ``?key=`` or ``Authorization: Bearer``; errors are in
Google's shape. ``streamGenerateContent`` streams SSE with ``alt=sse``, and otherwise Gemini's
JSON array, element by element.
"""

from __future__ import annotations

from typing import ClassVar

import orjson
from quart import Response, request

from newapi.errors import ModelNotFound, RelayError
from newapi.protocol import sse
from newapi.protocol.usage import Usage
from newapi.relay import relay_blueprint
from newapi.relay.auth import authenticate, check_model_allowed
from newapi.relay.http_connection import body_after_checks, open_body
from newapi.relay.openai_api import relay, visible_models
from newapi.relay.pipeline import prompt_estimate, read_json
from newapi.relay.translate import StreamTranslator
from newapi.routing.groups import serving_groups
from newapi.state import app_state

bp = relay_blueprint("relay_gemini")

GENERATE = ("generateContent", "streamGenerateContent")
EMBED = ("embedContent", "batchEmbedContents")
METHODS = (*GENERATE, *EMBED, "countTokens")


class MethodNotFound(RelayError):
    status = 404
    kind = "invalid_request_error"
    claude_kind = "not_found_error"
    code = "method_not_found"


@bp.post("/v1beta/models/<path:target>")
@bp.post("/v1/models/<path:target>")
@body_after_checks
async def call_model(target: str) -> Response:
    model, _, method = target.rpartition(":")
    model = model.removeprefix("models/")
    if not model or method not in METHODS:
        raise MethodNotFound(f"method {method or target!r} is not a Gemini model method")
    if method == "countTokens":
        return await count_tokens(model)
    endpoint = "embeddings" if method in EMBED else "chat/completions"
    stream = method == "streamGenerateContent"
    framing = None if not stream or request.args.get("alt") == "sse" else JsonArray
    return await relay(
        endpoint,
        "gemini",
        model=model,
        stream=stream,
        gemini_action=method,
        framing=framing,
    )


async def count_tokens(model: str) -> Response:
    """Counted here with the same estimator the relay reserves with (free, not billed, no
    upstream call): ``contents`` or a whole ``generateContentRequest``."""
    state = app_state()
    caller = await authenticate(state.entities, state.options.current)
    check_model_allowed(caller, model)
    open_body()
    body = await read_json()
    inner = body.get("generateContentRequest")
    total = prompt_estimate(inner if isinstance(inner, dict) else body) - 3
    return _json({"totalTokens": max(total, 0)})


@bp.get("/v1beta/models")
async def list_models() -> Response:
    return _json(await gemini_model_list())


async def gemini_model_list() -> dict[str, object]:
    """The models this key may call, in the Gemini API's list shape (one page)."""
    models = await visible_models()
    return {"models": [_describe(m) for m in models]}


@bp.get("/v1beta/models/<path:model>")
async def get_model(model: str) -> Response:
    state = app_state()
    caller = await authenticate(state.entities, state.options.current)
    model = model.removeprefix("models/")
    groups = caller.auto_groups or (caller.group,)
    if model not in await visible_models() or not serving_groups(
        state.channels.index, groups, model
    ):
        raise ModelNotFound(f"models/{model} is not found for API version v1beta")
    return _json(_describe(model))


def _describe(model: str) -> dict[str, object]:
    methods = ["generateContent", "streamGenerateContent", "countTokens"]
    if "embedding" in model:
        methods = ["embedContent", "batchEmbedContents", "countTokens"]
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": model,
        "description": "",
        "supportedGenerationMethods": methods,
    }


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), content_type="application/json")


# ---- Gemini's JSON-array stream --------------------------------------------------------------


class JsonArray:
    """``streamGenerateContent`` without ``alt=sse``: one JSON array, sent element by element
    (``[{...}``, ``,\\r\\n{...}``, ..., ``]``) as Google's REST API streams it."""

    headers: ClassVar[dict[str, str]] = {
        "Content-Type": "application/json; charset=UTF-8",
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }

    def __init__(self, inner: StreamTranslator) -> None:
        self.inner = inner
        self.opened = False

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def event(self, raw: bytes) -> list[bytes]:
        return self._elements(self.inner.event(raw))

    def end(self) -> list[bytes]:
        return [*self._elements(self.inner.end()), self._close()]

    def fail(self, message: str) -> list[bytes]:
        return [*self._elements(self.inner.fail(message)), self._close()]

    def usage(self) -> Usage | None:
        return self.inner.usage()

    def _elements(self, events: list[bytes]) -> list[bytes]:
        out = []
        for event in events:
            data = sse.event_data(event)
            if data is None:
                continue
            out.append((b",\r\n" if self.opened else b"[") + data)
            self.opened = True
        return out

    def _close(self) -> bytes:
        closing = b"]" if self.opened else b"[]"
        self.opened = True
        return closing
