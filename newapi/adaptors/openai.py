"""OpenAI and every OpenAI-compatible provider: the same wire format, a different base URL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from newapi.adaptors.base import (
    Call,
    ResponsesSupport,
    UpstreamRequest,
    WireFormat,
    apply_header_override,
    first_key,
    join_url,
    key_of,
    proxy_of,
    wire_endpoint,
)
from newapi.routing.index import ChannelSnapshot


@dataclass(frozen=True, slots=True)
class OpenAICompatible:
    """A provider that speaks OpenAI's API under ``{base_url}/v1/...`` with a Bearer key."""

    default_base_url: str
    stream_usage: bool = True
    wire_format: WireFormat = "openai"
    body_fields: Mapping[str, Any] = field(default_factory=dict)
    endpoints: frozenset[str] | None = None  # None: all its wire format serves
    responses: ResponsesSupport = "no"  # see Adaptor.responses

    def service_account(self, channel: ChannelSnapshot, key: str) -> None:
        return None

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest:
        base = channel.base_url or self.default_base_url
        headers = {
            "Authorization": f"Bearer {key_of(channel, call)}",
            "Content-Type": call.content_type,
        }
        if channel.openai_organization:
            headers["OpenAI-Organization"] = channel.openai_organization
        if call.stream:
            headers["Accept"] = "text/event-stream"
        return UpstreamRequest(
            url=join_url(base, f"/v1/{wire_endpoint(self, call)}"),
            headers=apply_header_override(channel, headers, key_of(channel, call)),
            proxy=proxy_of(channel),
        )

    def models_request(self, channel: ChannelSnapshot) -> UpstreamRequest:
        key = first_key(channel)
        headers = apply_header_override(channel, {"Authorization": f"Bearer {key}"}, key)
        base = channel.base_url or self.default_base_url
        return UpstreamRequest(join_url(base, "/v1/models"), headers, proxy_of(channel))
