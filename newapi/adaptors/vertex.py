"""Vertex AI: Gemini (``publishers/google``) and Claude (``publishers/anthropic``) models.

Two key types, as new-api stores them in the channel's ``settings.vertex_key_type``:

- ``json`` (default): the key is a service-account JSON key; the relay exchanges it for an
  OAuth access token (cached until shortly before expiry) and calls
  ``{region}-aiplatform.googleapis.com/v1/projects/{project}/locations/{region}/...``;
- ``api_key``: an API key (Vertex "express mode") sent as ``x-goog-api-key`` to
  ``aiplatform.googleapis.com/v1/publishers/...``.

The region comes from the channel's ``other`` field: a plain region (``us-central1``), or a
JSON object of model name -> region with a ``default`` entry; empty means ``global``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from newapi.adaptors.base import (
    Call,
    ResponsesSupport,
    ServiceAccount,
    UpstreamRequest,
    WireFormat,
    apply_header_override,
    key_of,
    proxy_of,
)
from newapi.adaptors.gemini import method_for, method_url
from newapi.routing.index import ChannelSnapshot

API_VERSION = "v1"
KEY_TYPE_API_KEY = "api_key"
CLAUDE_VERSION = "vertex-2023-10-16"
_DATED = re.compile(r"^(claude-.+)-(\d{8})$")


def region_for(other: str, model: str) -> str:
    """The channel's region for ``model`` (new-api's ``GetModelRegion``)."""
    text = other.strip()
    if text.startswith("{"):
        try:
            regions = orjson.loads(text)
        except orjson.JSONDecodeError:
            regions = None
        if isinstance(regions, dict):
            value = regions.get(model) or regions.get("default")
            return str(value).strip() if isinstance(value, str) and value.strip() else "global"
    return text or "global"


def vertex_claude_model(model: str) -> str:
    """Vertex names Claude versions with ``@``: ``claude-sonnet-4-20250514`` ->
    ``claude-sonnet-4@20250514``; names already in that form pass unchanged."""
    match = _DATED.match(model)
    return f"{match.group(1)}@{match.group(2)}" if match else model


def parse_service_account(key: str) -> ServiceAccount | None:
    try:
        info = orjson.loads(key)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(info, dict):
        return None
    fields = ("client_email", "private_key", "project_id")
    if not all(isinstance(info.get(name), str) and info[name] for name in fields):
        return None
    token_uri = info.get("token_uri")
    return ServiceAccount(
        client_email=info["client_email"],
        private_key=info["private_key"],
        token_uri=token_uri if isinstance(token_uri, str) and token_uri else DEFAULT_TOKEN_URI,
        project_id=info["project_id"],
        info=MappingProxyType(info),
    )


DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"


def api_key_mode(channel: ChannelSnapshot) -> bool:
    return channel.settings.get("vertex_key_type") == KEY_TYPE_API_KEY


def api_prefix(channel: ChannelSnapshot, project: str, region: str) -> str:
    """``.../v1[/projects/{p}/locations/{r}]`` on the channel's base URL or Google's host."""
    base = channel.base_url.strip().rstrip("/")
    if not base:
        host = "aiplatform.googleapis.com"
        base = f"https://{host}" if region == "global" else f"https://{region}-{host}"
    if not base.endswith(f"/{API_VERSION}"):
        base = f"{base}/{API_VERSION}"
    return f"{base}/projects/{project}/locations/{region}" if project else base


@dataclass(frozen=True, slots=True)
class Vertex:
    """One publisher's models on Vertex AI; the registry picks the publisher by model name."""

    publisher: str = "google"
    wire_format: WireFormat = "gemini"
    stream_usage: bool = True
    body_fields: Mapping[str, Any] = field(default_factory=dict)
    endpoints: frozenset[str] | None = None  # None: all its wire format serves
    responses: ResponsesSupport = "no"

    def service_account(self, channel: ChannelSnapshot, key: str) -> ServiceAccount | None:
        return None if api_key_mode(channel) else parse_service_account(key)

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest:
        key = key_of(channel, call)
        headers = {"Content-Type": call.content_type}
        project = ""
        if api_key_mode(channel):
            headers["x-goog-api-key"] = key
        else:
            account = parse_service_account(key)
            project = account.project_id if account else ""
            headers["Authorization"] = f"Bearer {call.access_token}"
            if project:
                headers["x-goog-user-project"] = project
        if call.stream:
            headers["Accept"] = "text/event-stream"
        prefix = api_prefix(channel, project, region_for(channel.other, call.upstream_model))
        prefix = f"{prefix}/publishers/{self.publisher}"
        if self.publisher == "anthropic":
            beta = call.caller_headers.get("anthropic-beta")
            if beta:
                headers["anthropic-beta"] = beta
            method = "streamRawPredict" if call.stream else "rawPredict"
            url = method_url(prefix, vertex_claude_model(call.upstream_model), method)
        else:
            url = method_url(prefix, call.upstream_model, method_for(call) or "generateContent")
        return UpstreamRequest(url, apply_header_override(channel, headers, key), proxy_of(channel))

    def models_request(self, channel: ChannelSnapshot) -> None:
        """Vertex has no per-project list of publisher models to fetch with a key."""
        return None


CHAT = frozenset({"chat/completions", "responses"})  # Responses callers are converted to it
# Embeddings on Vertex AI use another method (``predict``) that newapi does not speak yet.
VERTEX_GEMINI = Vertex(endpoints=CHAT)
VERTEX_CLAUDE = Vertex(
    publisher="anthropic",
    endpoints=CHAT,
    wire_format="claude",
    body_fields=MappingProxyType({"model": None, "anthropic_version": CLAUDE_VERSION}),
)


def vertex_for(model: str) -> Vertex:
    return VERTEX_CLAUDE if "claude" in model.lower() else VERTEX_GEMINI
