"""Open the upstream websocket: pick a channel, connect, fail over while the handshake fails.

Same rules as the HTTP relay (:mod:`newapi.relay.upstream`): priority tiers, weighted random
inside a tier, a failed channel never retried for this session, ``RetryTimes`` extra attempts,
``AutomaticRetryStatusCodes`` deciding which handshake refusals are retried. Only OpenAI,
OpenAI-compatible and Azure channels serve realtime; another channel type in the tier counts
as a failed attempt. The websocket client is ``websockets`` (what the ``openai`` SDK uses):
its handshake failures carry the upstream status and body, it bounds inbound frames
(``max_queue``) and outbound buffering (``write_limit``: ``send`` waits when it is full), and
answers pings itself.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from newapi.adaptors.azure import Azure
from newapi.adaptors.base import choose_key
from newapi.adaptors.openai import OpenAICompatible
from newapi.adaptors.registry import adaptor_for
from newapi.errors import UpstreamFailed
from newapi.realtime.upstream import Target, azure_target, openai_target
from newapi.relay.auth import Caller
from newapi.relay.upstream import Attempts, candidates, failure_from, map_model, mapped_status
from newapi.routing.index import ChannelSnapshot, RoutingIndex
from newapi.routing.retry import Failure, should_retry
from newapi.routing.select import pick

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 15.0
MAX_FRAME = 32 * 1024 * 1024
INBOUND_FRAMES = 64  # upstream frames read ahead of the caller
WRITE_LIMIT = 1024 * 1024  # bytes buffered towards the upstream before send() waits

FailureHook = Callable[[ChannelSnapshot, Failure], None]


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """What the caller asked for, as the upstream target needs it."""

    model: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    offered: Sequence[str]  # subprotocols the caller offered
    azure_default_version: str


@dataclass(frozen=True, slots=True)
class Dialed:
    channel: ChannelSnapshot
    upstream_model: str
    target: Target
    connection: ClientConnection


def target_for(
    channel: ChannelSnapshot, upstream_model: str, request: SessionRequest
) -> Target | None:
    """The upstream target on ``channel``, or None when the channel cannot serve realtime."""
    adaptor = adaptor_for(channel.type)
    key = choose_key(channel, random.randrange)
    if isinstance(adaptor, Azure):
        return azure_target(
            channel,
            upstream_model,
            key,
            request.query,
            request.azure_default_version,
            request.offered,
        )
    if isinstance(adaptor, OpenAICompatible):
        return openai_target(
            channel,
            adaptor.default_base_url,
            upstream_model,
            key,
            request.query,
            request.headers,
            request.offered,
        )
    return None


async def dial(
    index: RoutingIndex,
    caller: Caller,
    request: SessionRequest,
    *,
    retry_times: int,
    retry_ranges: list[tuple[int, int]],
    attempts: Attempts,
    on_failure: FailureHook | None = None,
) -> Dialed:
    tiers = candidates(index, caller, request.model)
    allowed = 1 if caller.forced_channel is not None else retry_times + 1
    for _ in range(allowed):
        channel_id = pick(tiers, attempts.tried, random.randrange)
        if channel_id is None:
            break
        attempts.tried.append(channel_id)
        channel = index.channel(channel_id)
        if channel is None:
            continue
        dialed = await _attempt(channel, request, attempts)
        if dialed is not None:
            return dialed
        if on_failure is not None and attempts.last is not None:
            on_failure(channel, attempts.last)
        if attempts.last is not None and not should_retry(attempts.last, retry_ranges):
            break
    last = attempts.last or Failure(0, "no channel could serve the realtime session")
    status = last.status if 400 <= last.status <= 599 else 502
    raise UpstreamFailed(last.message, code=last.code or "upstream_error", status=status)


async def _attempt(
    channel: ChannelSnapshot, request: SessionRequest, attempts: Attempts
) -> Dialed | None:
    upstream_model = map_model(channel.model_mapping, request.model)
    target = target_for(channel, upstream_model, request)
    if target is None:
        attempts.last = Failure(0, f"channel {channel.id} cannot serve realtime sessions")
        return None
    try:
        connection = await connect(
            target.url,
            additional_headers=target.headers,
            subprotocols=[Subprotocol(p) for p in target.subprotocols] or None,
            compression=None,  # audio is base64: deflate costs CPU and saves little
            proxy=target.proxy,
            open_timeout=OPEN_TIMEOUT,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=5,
            max_size=MAX_FRAME,
            max_queue=INBOUND_FRAMES,
            write_limit=WRITE_LIMIT,
            user_agent_header=None,
        )
    except InvalidStatus as exc:
        attempts.last = _refused(exc, channel)
        log.info(
            "channel %s refused the realtime handshake: %s", channel.id, exc.response.status_code
        )
        return None
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        attempts.last = Failure(0, f"upstream unreachable ({type(exc).__name__})")
        log.warning("channel %s realtime unreachable: %s", channel.id, type(exc).__name__)
        return None
    return Dialed(channel, upstream_model, target, connection)


def _refused(exc: InvalidStatus, channel: ChannelSnapshot) -> Failure:
    status = mapped_status(channel, exc.response.status_code)
    message = f"upstream refused the realtime session (HTTP {status})"
    return failure_from(status, exc.response.body or b"", channel, message)
