"""The adaptor seam: turn a relay call into an upstream HTTP request (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    key: str = field(default="", repr=False)  # the channel key chosen for this attempt


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


def enabled_keys(channel: ChannelSnapshot) -> list[str]:
    """The channel's usable keys: one per line on a multi-key channel, minus disabled ones."""
    lines = [line.strip() for line in channel.key.splitlines() if line.strip()]
    if not channel.channel_info.get("is_multi_key"):
        return lines[:1] if lines else []
    statuses = channel.channel_info.get("multi_key_status_list") or {}
    if not isinstance(statuses, dict):
        return lines
    return [key for index, key in enumerate(lines) if statuses.get(str(index), 1) == 1]


def choose_key(channel: ChannelSnapshot, random_below: Callable[[int], int]) -> str:
    """One key for an attempt: multi-key channels spread uniformly over their enabled keys."""
    keys = enabled_keys(channel)
    if not keys:
        return ""
    return keys[random_below(len(keys))] if len(keys) > 1 else keys[0]


def key_of(channel: ChannelSnapshot, call: Call) -> str:
    return call.key or (enabled_keys(channel) or [""])[0]


def apply_header_override(
    channel: ChannelSnapshot, headers: dict[str, str], key: str
) -> dict[str, str]:
    for name, value in channel.header_override.items():
        if isinstance(value, str):
            headers[name] = value.replace("{api_key}", key)
    return headers


def proxy_of(channel: ChannelSnapshot) -> str | None:
    proxy = channel.setting.get("proxy")
    return proxy if isinstance(proxy, str) and proxy else None


def join_url(base: str, path: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/v1") and path.startswith("/v1/"):
        path = path[3:]
    return base + path
