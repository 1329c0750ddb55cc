"""Azure OpenAI: deployment URLs, ``api-version``, and the ``api-key`` header."""

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
    key_of,
    proxy_of,
    wire_endpoint,
)
from newapi.routing.index import ChannelSnapshot


def deployment_name(model: str) -> str:
    """Azure deployment names cannot contain dots: ``gpt-3.5-turbo`` -> ``gpt-35-turbo``."""
    return model.replace(".", "")


@dataclass(frozen=True, slots=True)
class Azure:
    stream_usage: bool = True
    wire_format: WireFormat = "openai"
    body_fields: Mapping[str, Any] = field(default_factory=dict)
    endpoints: frozenset[str] | None = None  # None: all its wire format serves
    responses: ResponsesSupport = "openai"

    def service_account(self, channel: ChannelSnapshot, key: str) -> None:
        return None

    def request(self, channel: ChannelSnapshot, call: Call) -> UpstreamRequest:
        base = channel.base_url.rstrip("/")
        version = channel.other.strip() or str(call.settings.get("azure_default_api_version", ""))
        deployment = quote(deployment_name(call.upstream_model), safe="")
        endpoint = wire_endpoint(self, call)
        if version == "v1" or version.startswith("v1"):
            url = f"{base}/openai/v1/{endpoint}"
        elif endpoint == "responses":
            # Azure serves Responses at /openai/responses (the deployment is the body's model),
            # with its own api-version: the channel setting azure_responses_version, as new-api.
            dated = str(channel.setting.get("azure_responses_version") or version)
            url = f"{base}/openai/responses?api-version={dated}"
        else:
            url = f"{base}/openai/deployments/{deployment}/{endpoint}?api-version={version}"
        headers = {"api-key": key_of(channel, call), "Content-Type": call.content_type}
        if call.stream:
            headers["Accept"] = "text/event-stream"
        return UpstreamRequest(
            url, apply_header_override(channel, headers, key_of(channel, call)), proxy_of(channel)
        )

    def models_request(self, channel: ChannelSnapshot) -> None:
        """Azure lists deployments, not models, behind its management API."""
        return None
