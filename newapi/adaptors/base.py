"""The adaptor seam: turn a relay call into an upstream HTTP request (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from newapi.routing.index import ChannelSnapshot

WireFormat = Literal["openai", "claude"]


@dataclass(frozen=True, slots=True)
class Call:
    """What the caller asked for, after model mapping."""

    endpoint: str  # the OpenAI path below /v1, e.g. "chat/completions", "embeddings"
    upstream_model: str
    stream: bool
    caller_headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    settings: Mapping[str, Any] = field(default_factory=dict)  # e.g. azure_default_api_version


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    proxy: str | None = None


class Adaptor(Protocol):
    """One kind of upstream. Capabilities are attributes, not stubs that raise."""

    wire_format: WireFormat
    # Whether the upstream honours stream_options.include_usage (FORCE_STREAM_OPTION).
    stream_usage: bool

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest: ...


def first_key(channel: ChannelSnapshot) -> str:
    """The channel's key; a multi-key channel (one per line) uses its first enabled key."""
    for line in channel.key.splitlines():
        if line.strip():
            return line.strip()
    return ""


def apply_header_override(channel: ChannelSnapshot, headers: dict[str, str]) -> dict[str, str]:
    for name, value in channel.header_override.items():
        if isinstance(value, str):
            headers[name] = value.replace("{api_key}", first_key(channel))
    return headers


def proxy_of(channel: ChannelSnapshot) -> str | None:
    proxy = channel.setting.get("proxy")
    return proxy if isinstance(proxy, str) and proxy else None


def join_url(base: str, path: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/v1") and path.startswith("/v1/"):
        path = path[3:]
    return base + path
