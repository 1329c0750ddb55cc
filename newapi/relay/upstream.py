"""The attempt loop: pick a channel, call it, fail over before the caller saw a byte.

A failed channel is never tried twice for one request; siblings of its priority tier come
first, then the next lower tier (see :mod:`newapi.routing.select`). Every attempt happens
before the first byte reaches the caller, so failover is invisible to it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import orjson

from newapi.adaptors.base import Adaptor, Call, is_polling, key_choices, pick_key, proxy_of
from newapi.adaptors.registry import adaptor_for
from newapi.errors import InvalidRelayRequest, NoAvailableChannel, UpstreamFailed
from newapi.relay.auth import Caller
from newapi.relay.credentials import AccessTokens, TokenExchangeFailed
from newapi.routing.affinity import Preference, preferred_channel, preferred_key
from newapi.routing.groups import AUTO, chained_tiers
from newapi.routing.index import ChannelSnapshot, RoutingIndex, Tier
from newapi.routing.retry import Failure, should_retry
from newapi.routing.select import pick

log = logging.getLogger(__name__)

MAX_ERROR_BODY = 64 * 1024
# The code of a failure where the channel's adaptor does not speak the endpoint (no upstream
# call was made): when it is the last word, the request was wrong for the model, not a gateway
# failure.
UNSUPPORTED_ENDPOINT = "unsupported_endpoint"
# The upstream body for a channel; None when the channel cannot serve this request.
BodyBuilder = Callable[[ChannelSnapshot, Adaptor, str], bytes | None]
FailureHook = Callable[[ChannelSnapshot, Failure], None]
Turns = Callable[[int], int]  # channel id -> its next attempt number (polling keys)


@dataclass(slots=True)
class Attempts:
    """What the loop tried: channel ids in order (the log's ``admin_info.use_channel``) and,
    for multi-key channels, the keys used - such a channel stays a candidate until every one
    of its enabled keys failed (a key pool's 429 moves on to the next key)."""

    tried: list[int] = field(default_factory=list)
    last: Failure | None = None
    keys: dict[int, set[int]] = field(default_factory=dict)

    def record(self, channel_id: int, key_index: int) -> None:
        self.tried.append(channel_id)
        self.keys.setdefault(channel_id, set()).add(key_index)

    def exhausted(self, index: RoutingIndex) -> set[int]:
        """Tried channels with no untried enabled key left."""
        done = set()
        for channel_id, used in self.keys.items():
            channel = index.channel(channel_id)
            if channel is None or {i for i, _ in key_choices(channel)} <= used:
                done.add(channel_id)
        return done | (set(self.tried) - set(self.keys))


@dataclass(frozen=True, slots=True)
class Opened:
    channel: ChannelSnapshot
    adaptor: Adaptor
    upstream_model: str
    response: aiohttp.ClientResponse
    key_index: int = 0  # the line of a multi-key channel's key that answered


def map_model(mapping: Mapping[str, Any], model: str) -> str:
    """Follow ``model_mapping`` to a fixed point; a cycle is the admin's error."""
    seen = {model}
    current = model
    while (
        isinstance(mapping.get(current), str) and mapping[current] and mapping[current] != current
    ):
        current = mapping[current]
        if current in seen:
            raise InvalidRelayRequest(f"model_mapping of this channel loops at {current!r}")
        seen.add(current)
    return current


def candidates(
    index: RoutingIndex, caller: Caller, model: str
) -> list[tuple[tuple[int, int], ...]]:
    """The tiers to try for ``caller`` (a forced channel, or its group(s) in order)."""
    if caller.forced_channel is not None:
        channel = index.channel(caller.forced_channel)
        if channel is None or not channel.routable:
            raise NoAvailableChannel(f"channel {caller.forced_channel} is not available")
        return [((channel.id, 1),)]
    groups = caller.auto_groups or (caller.group,)
    tiers = chained_tiers(index, groups, model)
    if not tiers:
        group = "the auto groups" if caller.group == AUTO else f"group {caller.group}"
        raise NoAvailableChannel(
            f"no available channel for model {model} in {group}", code="model_not_found"
        )
    return tiers


async def open_upstream(
    http: aiohttp.ClientSession,
    index: RoutingIndex,
    caller: Caller,
    *,
    model: str,
    call: Call,
    build_body: BodyBuilder,
    retry_times: int,
    retry_ranges: list[tuple[int, int]],
    attempts: Attempts,
    on_failure: FailureHook | None = None,
    turns: Turns | None = None,
    idle_timeout: float | None = None,
    tokens: AccessTokens | None = None,
    prefer: Preference | None = None,
) -> Opened:
    """Attempt channels until one answers below 400; ``idle_timeout`` (streams) bounds every
    wait for upstream bytes, the response headers included. ``prefer`` (channel affinity) is
    tried first when it is still a candidate; failover after it is unchanged."""
    tiers = candidates(index, caller, model)
    limits = None
    if idle_timeout is not None:
        base = http.timeout
        limits = aiohttp.ClientTimeout(
            total=base.total,
            connect=base.connect,
            sock_connect=base.sock_connect,
            sock_read=idle_timeout,
        )
    allowed = 1 if caller.forced_channel is not None else retry_times + 1
    for _ in range(allowed):
        excluded = attempts.exhausted(index)
        first = prefer if prefer is not None and not attempts.tried else None
        channel_id = _affinity_channel(tiers, excluded, first)
        channel_id = channel_id or pick(tiers, excluded, random.randrange)
        if channel_id is None:
            break
        channel = index.channel(channel_id)
        upstream_model = map_model(channel.model_mapping, model) if channel else model
        adaptor = adaptor_for(channel.type, upstream_model) if channel else None
        if channel is None or adaptor is None:
            attempts.tried.append(channel_id)
            attempts.last = Failure(
                0, f"channel type {channel.type if channel else '?'} unsupported"
            )
            continue
        skip = attempts.keys.get(channel.id, set())
        key_index, key = _affinity_key(channel, skip, first) or _next_key(channel, skip, turns)
        attempts.record(channel.id, key_index)
        attempt = replace(call, upstream_model=upstream_model, key=key)
        opened = await _attempt(
            http, channel, adaptor, attempt, key_index, build_body, attempts, limits, tokens
        )
        if opened is not None:
            return opened
        if on_failure is not None and attempts.last is not None:
            on_failure(channel, attempts.last)
        if attempts.last is not None and not should_retry(attempts.last, retry_ranges):
            break
        if first is not None and first.skip_retry_on_failure and channel.id == first.channel_id:
            break  # the affinity rule asks to answer its channel's error rather than move on
    raise _final_error(attempts)


def _next_key(channel: ChannelSnapshot, skip: set[int], turns: Turns | None) -> tuple[int, str]:
    turn = turns(channel.id) if turns is not None and is_polling(channel) else None
    return pick_key(channel, random.randrange, turn, skip)


# ---- channel affinity (newapi.routing.affinity): the remembered channel and key first ----------


def _affinity_channel(
    tiers: list[Tier], excluded: set[int], first: Preference | None
) -> int | None:
    return preferred_channel(tiers, excluded, first.remembered) if first is not None else None


def _affinity_key(
    channel: ChannelSnapshot, skip: set[int], first: Preference | None
) -> tuple[int, str] | None:
    if first is None or channel.id != first.remembered.channel_id:
        return None
    return preferred_key(key_choices(channel), first.remembered, skip)


# ---- end of channel affinity -------------------------------------------------------------------


async def _attempt(
    http: aiohttp.ClientSession,
    channel: ChannelSnapshot,
    adaptor: Adaptor,
    call: Call,
    key_index: int,
    build_body: BodyBuilder,
    attempts: Attempts,
    limits: aiohttp.ClientTimeout | None = None,
    tokens: AccessTokens | None = None,
) -> Opened | None:
    body = build_body(channel, adaptor, call.upstream_model)
    if body is None:
        message = f"model {call.upstream_model} cannot serve {call.endpoint} on its channel"
        attempts.last = Failure(0, message, UNSUPPORTED_ENDPOINT)
        return None
    if not call.key:
        attempts.last = Failure(0, f"channel {channel.id} has no enabled key", "no_available_key")
        return None
    sent = await _send(http, channel, adaptor, call, body, attempts, limits, tokens)
    if sent is None:
        return None
    call, response = sent
    status = mapped_status(channel, response.status)
    if status < 400:
        return Opened(channel, adaptor, call.upstream_model, response, key_index)
    try:
        raw = await response.content.read(MAX_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError):
        raw = b""
    finally:
        response.release()
    attempts.last = replace(failure_from(status, raw, channel), key_index=key_index)
    log.info("channel %s answered %s", channel.id, status)
    return None


async def _send(
    http: aiohttp.ClientSession,
    channel: ChannelSnapshot,
    adaptor: Adaptor,
    call: Call,
    body: bytes,
    attempts: Attempts,
    limits: aiohttp.ClientTimeout | None,
    tokens: AccessTokens | None,
) -> tuple[Call, aiohttp.ClientResponse] | None:
    """POST ``body`` to the channel, with an access token when its key is a service account;
    None (``attempts.last`` set) when no response came."""
    account = adaptor.service_account(channel, call.key) if tokens is not None else None
    for again in (False, True):
        if account is not None and tokens is not None:
            try:
                call = replace(call, access_token=await tokens.token(account, proxy_of(channel)))
            except TokenExchangeFailed as failed:
                attempts.last = Failure(failed.status, redact(failed.message, channel))
                log.warning("channel %s: %s", channel.id, attempts.last.message)
                return None
        target = adaptor.request(channel, call)
        try:
            # timeout=None would mean "no timeout at all": leave the session's unless streaming.
            extra = {"timeout": limits} if limits is not None else {}
            response = await http.post(
                target.url, data=body, headers=target.headers, proxy=target.proxy, **extra
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            attempts.last = Failure(0, f"upstream unreachable ({type(exc).__name__})")
            log.warning("channel %s unreachable: %s", channel.id, type(exc).__name__)
            return None
        if response.status != 401 or account is None or tokens is None or again:
            break
        # A cached access token the upstream no longer takes (revoked before its expiry):
        # exchange the key once more rather than failing (and maybe disabling) the channel.
        response.release()
        tokens.forget(account, call.access_token)
    return call, response


def mapped_status(channel: ChannelSnapshot, status: int) -> int:
    """The channel's ``status_code_mapping`` applied (before retry and disable decisions)."""
    mapped = channel.status_code_mapping.get(str(status))
    try:
        return int(mapped) if mapped else status
    except (TypeError, ValueError):
        return status


def failure_from(status: int, raw: bytes, channel: ChannelSnapshot, message: str = "") -> Failure:
    """An upstream error answer as a :class:`Failure`: OpenAI's error body read when there is
    one, the channel's keys redacted from the message."""
    message, code, kind = message or f"upstream returned HTTP {status}", "", ""
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        # Google's errors: a numeric ``code`` and the RPC ``status`` name (PERMISSION_DENIED).
        google = isinstance(error.get("code"), int) and isinstance(error.get("status"), str)
        code = str(error["status"] if google else error.get("code") or "")
        kind = str(error.get("type") or "")
    elif isinstance(error, str):
        message = error
    return Failure(status, redact(message, channel), code, kind)


def redact(message: str, channel: ChannelSnapshot) -> str:
    """``message`` without the channel's keys (nor their first 12 characters), at most 1000."""
    for key in channel.key.splitlines():
        key = key.strip()
        if len(key) >= 8:
            message = message.replace(key, "***").replace(key[:12], "***")
    return message[:1000]


def _final_error(attempts: Attempts) -> UpstreamFailed:
    last = attempts.last or Failure(0, "no channel could serve the request")
    status = last.status if 400 <= last.status <= 599 else 502
    if last.code == UNSUPPORTED_ENDPOINT:
        status = 400
    return UpstreamFailed(last.message, code=last.code or "upstream_error", status=status)
