"""The adaptor seam: turn a relay call into an upstream HTTP request (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from newapi.protocol.responses import responses_only
from newapi.routing.index import ChannelSnapshot

WireFormat = Literal["openai", "claude", "gemini"]
ResponsesSupport = Literal["no", "yes", "openai"]


@dataclass(frozen=True, slots=True)
class Call:
    """What the caller asked for, after model mapping."""

    endpoint: str  # the OpenAI path below /v1, e.g. "chat/completions", "embeddings"
    upstream_model: str
    stream: bool
    caller_headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased names
    settings: Mapping[str, Any] = field(default_factory=dict)  # e.g. azure_default_api_version
    key: str = field(default="", repr=False)  # the channel key chosen for this attempt
    # The body's type: JSON, or a forwarded multipart form with the caller's own boundary.
    content_type: str = "application/json"
    # A Gemini-format caller's own method (``generateContent``, ``embedContent``, ...): a Gemini
    # channel is called with the same method; other channels get ``endpoint`` converted.
    gemini_action: str = ""
    # An OAuth access token minted for this attempt from a service-account key (Vertex AI).
    access_token: str = field(default="", repr=False)
    # The caller's query parameters (Claude Code's ``?beta=true`` goes on to Anthropic).
    caller_query: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold ?key=


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    proxy: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A Google service-account key, parsed from a channel key; exchanged for access tokens."""

    client_email: str
    private_key: str = field(repr=False)
    token_uri: str
    project_id: str
    info: Mapping[str, Any] = field(repr=False, default_factory=dict)


class Adaptor(Protocol):
    """One kind of upstream. Capabilities are attributes, not stubs that raise."""

    wire_format: WireFormat
    # Whether the upstream honours stream_options.include_usage (FORCE_STREAM_OPTION).
    stream_usage: bool
    # Fields this upstream wants set on (value) or removed from (None) every JSON body
    # (Claude on Vertex AI: no ``model``, an ``anthropic_version`` of its own).
    body_fields: Mapping[str, Any]
    # The endpoints (OpenAI paths below /v1) served; None: all that its wire format serves.
    endpoints: frozenset[str] | None
    # Whether an OpenAI-format upstream speaks the Responses API: "no" (callers of
    # /v1/responses are converted to chat completions for it), "yes", or "openai" (yes, and
    # OpenAI's models served only through Responses get chat callers converted to it).
    responses: ResponsesSupport

    def service_account(self, channel: ChannelSnapshot, key: str) -> ServiceAccount | None:
        """The key to exchange for an OAuth access token first (Vertex AI); None for most."""
        ...

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest: ...

    def models_request(self, channel: ChannelSnapshot) -> UpstreamRequest | None:
        """``GET`` of the provider's model list (``data[].id``); None when it has none."""
        ...


KEY_ENABLED = 1


def key_choices(channel: ChannelSnapshot) -> list[tuple[int, str]]:
    """(line index, key) of the channel's usable keys: one per line on a multi-key channel,
    minus the keys whose ``multi_key_status_list`` entry is not enabled."""
    if not channel.channel_info.get("is_multi_key"):
        whole = channel.key.strip()
        if whole.startswith("{"):  # a JSON key (Vertex AI service account) spans many lines
            return [(0, whole)]
        first = whole.splitlines()[0].strip() if whole else ""
        return [(0, first)] if first else []
    lines = [line.strip() for line in channel.key.splitlines() if line.strip()]
    statuses = channel.channel_info.get("multi_key_status_list") or {}
    if not isinstance(statuses, dict):
        statuses = {}
    return [
        (index, key)
        for index, key in enumerate(lines)
        if statuses.get(str(index), KEY_ENABLED) == KEY_ENABLED
    ]


def enabled_keys(channel: ChannelSnapshot) -> list[str]:
    return [key for _, key in key_choices(channel)]


def is_polling(channel: ChannelSnapshot) -> bool:
    info = channel.channel_info
    return bool(info.get("is_multi_key")) and info.get("multi_key_mode") == "polling"


def pick_key(
    channel: ChannelSnapshot,
    random_below: Callable[[int], int],
    turn: int | None = None,
    skip: Collection[int] = (),
) -> tuple[int, str]:
    """The key for one attempt and its line index ((-1, "") when none is usable).

    ``random`` mode spreads uniformly over the enabled keys; ``polling`` mode takes them in
    turn (``turn`` counts this channel's attempts), skipping disabled ones. Keys in ``skip``
    (already failed for this request) are left out.
    """
    choices = [choice for choice in key_choices(channel) if choice[0] not in skip]
    if not choices:
        return -1, ""
    if len(choices) == 1:
        return choices[0]
    if turn is not None and is_polling(channel):
        return choices[turn % len(choices)]
    return choices[random_below(len(choices))]


def choose_key(channel: ChannelSnapshot, random_below: Callable[[int], int]) -> str:
    """One key for an attempt (random over the enabled keys)."""
    return pick_key(channel, random_below)[1]


def first_key(channel: ChannelSnapshot) -> str:
    return (enabled_keys(channel) or [""])[0]


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


def wire_endpoint(adaptor: Adaptor, call: Call) -> str:
    """The OpenAI endpoint actually called: a Responses call goes to chat completions on an
    upstream without the Responses API; a chat call to a model OpenAI serves only through
    Responses goes there (the relay converts the body the same way: see relay.hub)."""
    if call.endpoint == "responses" and adaptor.responses == "no":
        return "chat/completions"
    openai = adaptor.responses == "openai"
    if call.endpoint == "chat/completions" and openai and responses_only(call.upstream_model):
        return "responses"
    return call.endpoint


def join_url(base: str, path: str) -> str:
    base = base.rstrip("/")
    if base.endswith("/v1") and path.startswith("/v1/"):
        path = path[3:]
    return base + path
