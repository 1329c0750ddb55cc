"""Where and how to open the upstream realtime websocket (pure: no I/O).

- OpenAI and OpenAI-compatible channels: ``{base}/v1/realtime?model=<mapped model>`` (the
  caller's other query parameters kept), ``Authorization: Bearer <channel key>``, and
  ``OpenAI-Beta: realtime=v1`` only for the beta interface: a preview model, or a caller that
  asked for beta (the header or the ``openai-beta.realtime-v1`` subprotocol) - never for a GA
  ``gpt-realtime*`` model, which OpenAI disconnects when it sees the beta header.
- Azure: preview ``{base}/openai/realtime?api-version=<v>&deployment=<deployment>`` and, when
  the version is ``v1`` (the Azure adaptor's rule), GA ``{base}/openai/v1/realtime?model=<d>``;
  both with ``api-key``. The version is the caller's ``api-version``, else the channel's
  ``other`` field, else ``AZURE_DEFAULT_API_VERSION``.

The channel key always travels in a header, never in a subprotocol; the caller's own key
subprotocol is never forwarded. Channel header overrides are applied last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from newapi.adaptors.azure import deployment_name
from newapi.adaptors.base import apply_header_override, join_url, proxy_of
from newapi.routing.index import ChannelSnapshot

KEY_PROTOCOL = "openai-insecure-api-key."
BETA_PROTOCOL = "openai-beta.realtime-v1"
REALTIME_PROTOCOL = "realtime"
GA_PREFIX = "gpt-realtime"
_RESERVED_QUERY = frozenset({"model", "api-version", "deployment"})


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    headers: dict[str, str] = field(repr=False)  # carries the channel key
    subprotocols: tuple[str, ...] = ()
    proxy: str | None = None
    beta: bool = False


def is_ga_model(model: str) -> bool:
    return model.rsplit("/", 1)[-1].startswith(GA_PREFIX)


def wants_beta(model: str, caller_headers: Mapping[str, str], offered: Sequence[str]) -> bool:
    """Whether the upstream gets ``OpenAI-Beta: realtime=v1`` (``caller_headers`` lower-cased)."""
    if is_ga_model(model):
        return False
    asked = "realtime=v1" in caller_headers.get("openai-beta", "").lower()
    return asked or BETA_PROTOCOL in offered or "preview" in model


def to_ws(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url


def openai_target(
    channel: ChannelSnapshot,
    base_url: str,
    model: str,
    key: str,
    caller_query: Mapping[str, str],
    caller_headers: Mapping[str, str],
    offered: Sequence[str],
) -> Target:
    query = {k: v for k, v in caller_query.items() if k not in _RESERVED_QUERY}
    url = join_url(to_ws(channel.base_url or base_url), "/v1/realtime")
    url += "?" + urlencode({"model": model, **query})
    beta = wants_beta(model, caller_headers, offered)
    headers = {"Authorization": f"Bearer {key}"}
    if beta:
        headers["OpenAI-Beta"] = "realtime=v1"
    if channel.openai_organization:
        headers["OpenAI-Organization"] = channel.openai_organization
    return Target(
        url,
        apply_header_override(channel, headers, key),
        _protocols(offered),
        proxy_of(channel),
        beta,
    )


def azure_target(
    channel: ChannelSnapshot,
    model: str,
    key: str,
    caller_query: Mapping[str, str],
    default_version: str,
    offered: Sequence[str],
) -> Target:
    version = caller_query.get("api-version") or channel.other.strip() or default_version
    base = to_ws(channel.base_url.rstrip("/"))
    deployment = deployment_name(model)
    query = {k: v for k, v in caller_query.items() if k not in _RESERVED_QUERY}
    if version.startswith("v1"):
        url = f"{base}/openai/v1/realtime?" + urlencode({"model": deployment, **query})
        beta = False
    else:
        params = {"api-version": version, "deployment": deployment, **query}
        url = f"{base}/openai/realtime?" + urlencode(params)
        beta = True  # Azure's preview path speaks the beta event names
    headers = apply_header_override(channel, {"api-key": key}, key)
    return Target(url, headers, _protocols(offered), proxy_of(channel), beta)


def _protocols(offered: Sequence[str]) -> tuple[str, ...]:
    return (REALTIME_PROTOCOL,) if REALTIME_PROTOCOL in offered else ()


def caller_protocol(offered: Sequence[str], upstream: str | None) -> str | None:
    """The subprotocol accepted for the caller: one it offered, never its key protocol."""
    if upstream and upstream in offered and not upstream.startswith(KEY_PROTOCOL):
        return upstream
    return REALTIME_PROTOCOL if REALTIME_PROTOCOL in offered else None


def key_from_protocols(offered: Sequence[str]) -> str:
    for item in offered:
        if item.startswith(KEY_PROTOCOL):
            return item.removeprefix(KEY_PROTOCOL)
    return ""


_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def sendable_close(code: int | None, *, lost: int) -> int:
    """A close code that may be sent on the wire: 1005 (none given) becomes 1000; 1006 and
    1015 (never sent, they mean "dropped"), unset and invalid codes become ``lost``."""
    if code == 1005:
        return 1000
    if code is not None and (code in _SENDABLE or 3000 <= code <= 4999):
        return code
    return lost


def close_reason(reason: str) -> str:
    """A close reason fits in 123 bytes of UTF-8 (the control frame limit)."""
    raw = reason.encode()
    if len(raw) <= 123:
        return reason
    return raw[:123].decode(errors="ignore")
