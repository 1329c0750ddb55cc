"""Anthropic: ``/v1/messages``, ``x-api-key``, ``anthropic-version`` and pass-through betas."""

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
)
from newapi.routing.index import ChannelSnapshot

DEFAULT_VERSION = "2023-06-01"
COUNT_TOKENS = "messages/count_tokens"  # the endpoint name of /v1/messages/count_tokens


@dataclass(frozen=True, slots=True)
class Anthropic:
    default_base_url: str = "https://api.anthropic.com"
    stream_usage: bool = True  # usage always arrives in message_start / message_delta
    wire_format: WireFormat = "claude"
    body_fields: Mapping[str, Any] = field(default_factory=dict)
    endpoints: frozenset[str] | None = None  # None: all its wire format serves
    responses: ResponsesSupport = "no"

    def service_account(self, channel: ChannelSnapshot, key: str) -> None:
        return None

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest:
        headers = {
            "x-api-key": key_of(channel, call),
            "anthropic-version": call.caller_headers.get("anthropic-version") or DEFAULT_VERSION,
            "Content-Type": call.content_type,
        }
        beta = call.caller_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
        if call.stream:
            headers["Accept"] = "text/event-stream"
        path = "/v1/messages/count_tokens" if call.endpoint == COUNT_TOKENS else "/v1/messages"
        url = join_url(channel.base_url or self.default_base_url, path)
        if call.caller_query.get("beta") == "true":
            url += "?beta=true"  # as new-api: the beta surface Claude Code asks for
        return UpstreamRequest(
            url, apply_header_override(channel, headers, key_of(channel, call)), proxy_of(channel)
        )

    def models_request(self, channel: ChannelSnapshot) -> UpstreamRequest:
        key = first_key(channel)
        headers = {"x-api-key": key, "anthropic-version": DEFAULT_VERSION}
        url = join_url(channel.base_url or self.default_base_url, "/v1/models")
        return UpstreamRequest(url, apply_header_override(channel, headers, key), proxy_of(channel))
