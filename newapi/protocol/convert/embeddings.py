"""Embeddings between OpenAI ``/v1/embeddings`` and Gemini ``embedContent`` /
``batchEmbedContents``, both directions; pure.

- OpenAI caller -> Gemini channel: :func:`embeddings_request_to_gemini` (always the batch call,
  one request per input), then :func:`gemini_embeddings_to_openai`.
- Gemini caller -> OpenAI channel: :func:`embed_request_to_openai`, then
  :func:`openai_embeddings_to_gemini`.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from newapi.protocol.openai import JSONObject

__all__ = [
    "embed_request_to_openai",
    "embeddings_request_to_gemini",
    "gemini_embeddings_to_openai",
    "openai_embeddings_to_gemini",
]


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def embeddings_request_to_gemini(body: JSONObject, *, upstream_model: str) -> JSONObject:
    """An OpenAI embeddings body as a ``batchEmbedContents`` body.

    Only text inputs are taken: token-id arrays have no Gemini equivalent and are skipped, so
    an input of only token ids gives no requests (the relay refuses it).
    """
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    dimensions = _positive_int(body.get("dimensions"))
    requests = []
    for text in texts:
        if not isinstance(text, str):
            continue
        request: JSONObject = {
            "model": f"models/{upstream_model}",
            "content": {"parts": [{"text": text}]},
        }
        if dimensions:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}


def gemini_embeddings_to_openai(
    response: JSONObject, *, model: str, prompt_tokens: int
) -> JSONObject:
    """A (batch) embedContent answer as an OpenAI list; Gemini reports no usage, so the
    relay's ``prompt_tokens`` count is written."""
    embeddings = response.get("embeddings")
    if not isinstance(embeddings, list):
        single = response.get("embedding")
        embeddings = [single] if isinstance(single, dict) else []
    data = [
        {"object": "embedding", "index": index, "embedding": _values(item)}
        for index, item in enumerate(embeddings)
    ]
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }


def _values(item: Any) -> list[float]:
    values = item.get("values") if isinstance(item, dict) else None
    return list(values) if isinstance(values, list) else []


def embed_request_to_openai(body: JSONObject, *, upstream_model: str, batch: bool) -> JSONObject:
    """An ``embedContent`` (or, with ``batch``, ``batchEmbedContents``) body as an OpenAI
    embeddings body: one input per request, its text parts joined by newlines."""
    requests = body.get("requests") if batch else [body]
    items = (
        [item for item in requests if isinstance(item, dict)] if isinstance(requests, list) else []
    )
    texts = [_content_text(item.get("content")) for item in items]
    request: JSONObject = {
        "model": upstream_model,
        "input": texts if batch else texts[0] if texts else "",
    }
    dimensions = next(
        (d for item in items if (d := _positive_int(item.get("outputDimensionality")))), None
    )
    if dimensions:
        request["dimensions"] = dimensions
    return request


def _content_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    return "\n".join(
        part["text"]
        for part in parts
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


def openai_embeddings_to_gemini(response: JSONObject, *, batch: bool) -> JSONObject:
    """An OpenAI embeddings list as ``{"embedding": {...}}`` or, with ``batch``,
    ``{"embeddings": [...]}`` in input order (``base64`` vectors decoded)."""
    data = response.get("data")
    items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
    items.sort(key=lambda item: item.get("index") if isinstance(item.get("index"), int) else 0)
    embeddings = [{"values": _vector(item.get("embedding"))} for item in items]
    if batch:
        return {"embeddings": embeddings}
    return {"embedding": embeddings[0] if embeddings else {"values": []}}


def _vector(embedding: Any) -> list[float]:
    if isinstance(embedding, list):
        return embedding
    if isinstance(embedding, str):  # encoding_format=base64: little-endian float32
        raw = base64.b64decode(embedding)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw[: len(raw) // 4 * 4]))
    return []
