"""Google's Gemini API (AI Studio): ``/{version}/models/{model}:{method}`` with ``x-goog-api-key``.

The key goes in a header, never in the URL's ``?key=`` (URLs end up in proxy and access logs).
A stream is always asked for as SSE (``alt=sse``); a caller that wants Gemini's JSON-array
stream gets it re-framed by the relay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from newapi.adaptors.base import (
    Call,
    ResponsesSupport,
    UpstreamRequest,
    WireFormat,
    apply_header_override,
    first_key,
    key_of,
    proxy_of,
)
from newapi.protocol.gemini import thinking_suffix
from newapi.routing.index import ChannelSnapshot

DEFAULT_VERSION = "v1beta"
STREAM_METHOD = "streamGenerateContent"
# The Gemini method serving an OpenAI-format endpoint (after conversion to Gemini's shape).
METHODS = {
    "chat/completions": "generateContent",
    "responses": "generateContent",
    "embeddings": "batchEmbedContents",
}


def method_for(call: Call) -> str | None:
    """The Gemini method for ``call`` (None: the endpoint has no Gemini counterpart)."""
    method = call.gemini_action or METHODS.get(call.endpoint)
    if method == "generateContent" and call.stream:
        return STREAM_METHOD
    return method


def model_path(model: str) -> str:
    """The model as it appears in the URL: thinking suffixes stripped, ``models/`` dropped."""
    return quote(thinking_suffix(model.removeprefix("models/"))[0], safe="-._@")


def method_url(prefix: str, model: str, method: str) -> str:
    url = f"{prefix}/models/{model_path(model)}:{method}"
    return url + "?alt=sse" if method in (STREAM_METHOD, "streamRawPredict") else url


@dataclass(frozen=True, slots=True)
class Gemini:
    default_base_url: str = "https://generativelanguage.googleapis.com"
    stream_usage: bool = True  # usageMetadata rides on every stream chunk
    wire_format: WireFormat = "gemini"
    body_fields: Mapping[str, Any] = field(default_factory=dict)
    endpoints: frozenset[str] | None = None  # None: all its wire format serves
    responses: ResponsesSupport = "no"

    def service_account(self, channel: ChannelSnapshot, key: str) -> None:
        return None

    def prefix(self, channel: ChannelSnapshot) -> str:
        """``{base}/{version}``: the version is the channel's ``other`` field (new-api's
        "API version"), else v1beta; a base URL already ending in a version keeps it."""
        base = (channel.base_url or self.default_base_url).rstrip("/")
        if base.rsplit("/", 1)[-1] in ("v1", "v1beta", "v1alpha"):
            return base
        return f"{base}/{channel.other.strip() or DEFAULT_VERSION}"

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest:
        method = method_for(call) or "generateContent"
        key = key_of(channel, call)
        headers = {"x-goog-api-key": key, "Content-Type": call.content_type}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        url = method_url(self.prefix(channel), call.upstream_model, method)
        return UpstreamRequest(url, apply_header_override(channel, headers, key), proxy_of(channel))

    def models_request(self, channel: ChannelSnapshot) -> UpstreamRequest:
        key = first_key(channel)
        headers = apply_header_override(channel, {"x-goog-api-key": key}, key)
        url = f"{self.prefix(channel)}/models?pageSize=1000"
        return UpstreamRequest(url, headers, proxy_of(channel))
