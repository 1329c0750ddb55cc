"""OpenAI embeddings, model list and moderations.

Embeddings are deterministic unit vectors seeded by the input, so a test can compare what the
gateway returns with a direct call. ``encoding_format: "base64"`` (what the openai SDK asks for
by default) returns little-endian float32 bytes, base64-encoded, as the real API does.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from typing import Any

from aiohttp import web

from bench.fakes.call import Call, json_response, new_id

_MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_FLAGGED_CATEGORY = "violence"
_MODEL_CREATED = 1686935002


def embedding_vector(item: Any, dimensions: int) -> list[float]:
    """A deterministic unit vector for one input item (string or token list)."""
    rng = random.Random(repr(item))
    values = [rng.uniform(-1.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


def _input_items(value: Any) -> list[Any]:
    """A string or one token list is one item; a list of strings/token lists is many."""
    if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
        return list(value)
    return [value]


def _encode(vector: list[float], encoding: Any) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def embeddings(call: Call) -> web.StreamResponse:
    """POST /v1/embeddings (and Azure's deployment and v1 paths)."""
    dimensions = call.body.get("dimensions")
    if not isinstance(dimensions, int) or dimensions <= 0:
        dimensions = call.scenario.embedding_dimensions
    encoding = call.body.get("encoding_format")
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encode(embedding_vector(item, dimensions), encoding),
        }
        for index, item in enumerate(_input_items(call.body.get("input")))
    ]
    tokens = call.scenario.prompt_tokens
    body = {
        "object": "list",
        "data": data,
        "model": call.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return json_response(call, body)


def _anthropic_models(call: Call) -> dict[str, Any]:
    data = [
        {"type": "model", "id": name, "display_name": name, "created_at": "2025-05-14T00:00:00Z"}
        for name in call.scenario.models
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


async def models(call: Call) -> web.StreamResponse:
    """GET /v1/models: OpenAI's list, or Anthropic's when called the Anthropic way."""
    if call.provider == "anthropic":
        return json_response(call, _anthropic_models(call))
    data = [
        {"id": name, "object": "model", "created": _MODEL_CREATED, "owned_by": "system"}
        for name in call.scenario.models
    ]
    return json_response(call, {"object": "list", "data": data})


def _moderation_result(flagged: bool) -> dict[str, Any]:
    categories = {name: flagged and name == _FLAGGED_CATEGORY for name in _MODERATION_CATEGORIES}
    scores = {name: 0.91 if hit else 0.0001 for name, hit in categories.items()}
    applied = {name: ["text"] for name in _MODERATION_CATEGORIES}
    return {
        "flagged": flagged,
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": applied,
    }


async def moderations(call: Call) -> web.StreamResponse:
    """POST /v1/moderations: every input gets the scenario's ``flagged`` verdict."""
    items = _input_items(call.body.get("input"))
    body = {
        "id": new_id("modr-"),
        "model": call.model or "omni-moderation-latest",
        "results": [_moderation_result(call.scenario.flagged) for _ in items],
    }
    return json_response(call, body)
