"""Channel health: probing a channel with a real request, and auto-disable / auto-enable.

Auto-disable follows new-api's switches (``AutomaticDisableChannelEnabled`` and the channel's
``auto_ban``) and triggers (status codes, error codes and types, keywords). A channel is only
ever re-enabled by a passing probe when ``AutomaticEnableChannelEnabled`` is on, and a channel
an admin disabled by hand is never touched. A channel of a type this version does not serve is
never probed and never disabled: its failures say nothing about its upstream, and a new-api node
sharing the database may be serving it well.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import aiohttp
import orjson

from newapi.adaptors.base import Call, first_key, proxy_of
from newapi.adaptors.registry import adaptor_for, not_served_reason, served
from newapi.models import Channel
from newapi.models.channel import CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED
from newapi.protocol.convert import chat_request_to_claude, chat_request_to_gemini
from newapi.protocol.usage import Usage, from_claude, from_gemini, from_openai
from newapi.relay.credentials import TokenExchangeFailed
from newapi.relay.translate import with_body_fields
from newapi.relay.upstream import failure_from, map_model, redact
from newapi.routing import channel_types
from newapi.routing.index import ChannelSnapshot
from newapi.routing.retry import Failure, should_disable
from newapi.state import CHANNELS, AppState
from newapi.store.channels import change_status, disable_channel_key

log = logging.getLogger(__name__)

PROBE_PROMPT = "Say hi."


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    seconds: float
    message: str
    usage: Usage | None = None
    failure: Failure | None = None


async def report_failure(state: AppState, channel: ChannelSnapshot, failure: Failure) -> None:
    """Disable ``channel`` when the failure is one that new-api's rules say will not heal."""
    if not channel.served:
        return
    options = state.options.current
    if not options.bool("AutomaticDisableChannelEnabled") or not channel.auto_ban:
        return
    keywords = options.str("AutomaticDisableKeywords").splitlines()
    if not should_disable(failure, options.status_ranges("AutomaticDisableStatusCodes"), keywords):
        return
    if channel.channel_info.get("is_multi_key") and failure.key_index >= 0:
        await disable_key(state, channel.id, failure.key_index, failure.message)
    else:
        await disable(state, channel.id, failure.message)


async def disable_key(state: AppState, channel_id: int, key_index: int, reason: str) -> bool:
    """Disable one key of a multi-key channel; the channel too once none is left (new-api)."""
    changed, none_left = await disable_channel_key(channel_id, key_index, reason[:300])
    if changed:
        log.warning("channel %s key #%s auto-disabled: %s", channel_id, key_index, reason[:300])
    if none_left:
        await disable(state, channel_id, f"every key is disabled; last: {reason}")
    elif changed:
        await state.changed(CHANNELS)
    return changed


async def disable(state: AppState, channel_id: int, reason: str) -> bool:
    # The type check in the query itself: no caller can switch off a channel newapi cannot serve.
    query = Channel.filter(id=channel_id, status=CHANNEL_ENABLED, type__in=_served_types())
    changed = await change_status(query, CHANNEL_AUTO_DISABLED, f"auto disabled: {reason[:300]}")
    if changed:
        log.warning("channel %s auto-disabled: %s", channel_id, reason[:300])
        await state.changed(CHANNELS)
    return bool(changed)


def _served_types() -> list[int]:
    return [type_id for type_id in channel_types.CHANNEL_TYPES if served(type_id)]


async def enable(state: AppState, channel_id: int) -> bool:
    query = Channel.filter(id=channel_id, status=CHANNEL_AUTO_DISABLED)
    changed = await change_status(query, CHANNEL_ENABLED, "auto enabled after a passing test")
    if changed:
        log.info("channel %s re-enabled after a passing test", channel_id)
        await state.changed(CHANNELS)
    return bool(changed)


def _probe_body(channel: ChannelSnapshot, wire: str, model: str) -> bytes:
    chat = {
        "model": model,
        "messages": [{"role": "user", "content": PROBE_PROMPT}],
        "max_tokens": 16,
    }
    if wire == "claude":
        body = dict(chat_request_to_claude(chat, upstream_model=model))
    elif wire == "gemini":
        body = chat_request_to_gemini(chat, upstream_model=model).body
    else:
        return orjson.dumps(chat)
    adaptor = adaptor_for(channel.type, model)
    return orjson.dumps(with_body_fields(body, adaptor) if adaptor else body)


async def probe(state: AppState, channel: ChannelSnapshot, model: str) -> ProbeResult:
    """Send one minimal, non-streaming chat request through the channel's adaptor."""
    upstream_model = map_model(channel.model_mapping, model)
    adaptor = adaptor_for(channel.type, upstream_model)
    if adaptor is None:
        return ProbeResult(False, 0.0, not_served_reason(channel.type))
    settings = {"azure_default_api_version": state.settings.azure_default_api_version}
    call = Call("chat/completions", upstream_model, False, {}, settings, key=first_key(channel))
    started = time.monotonic()
    account = adaptor.service_account(channel, call.key)
    if account is not None and state.access_tokens is not None:
        try:
            token = await state.access_tokens.token(account, proxy_of(channel))
        except TokenExchangeFailed as failed:
            failure = Failure(failed.status, redact(failed.message, channel))
            return ProbeResult(False, time.monotonic() - started, failure.message, failure=failure)
        call = replace(call, access_token=token)
    target = adaptor.request(channel, call)
    try:
        async with state.http.post(
            target.url,
            data=_probe_body(channel, adaptor.wire_format, upstream_model),
            headers=target.headers,
            proxy=target.proxy,
        ) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        failure = Failure(0, f"upstream unreachable ({type(exc).__name__})")
        return ProbeResult(False, time.monotonic() - started, failure.message, failure=failure)
    seconds = time.monotonic() - started
    return _result(status, raw, seconds, adaptor.wire_format, channel)


def _result(
    status: int, raw: bytes, seconds: float, wire: str, channel: ChannelSnapshot
) -> ProbeResult:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if status >= 400 or not isinstance(body, dict):
        failure = failure_from(status, raw, channel, f"HTTP {status}")
        return ProbeResult(False, seconds, failure.message, failure=failure)
    if wire == "claude":
        usage = from_claude(body.get("usage"))
    elif wire == "gemini":
        usage = from_gemini(body.get("usageMetadata"))
    else:
        usage = from_openai(body.get("usage"))
    return ProbeResult(True, seconds, "", usage)


async def test_channel(state: AppState, channel: ChannelSnapshot, model: str) -> ProbeResult:
    """Probe, record the timing, and apply the auto-disable / auto-enable rules.

    A channel of an unserved type is answered at once and its row is left as it is.
    """
    if not channel.served:
        return ProbeResult(False, 0.0, not_served_reason(channel.type))
    result = await probe(state, channel, model)
    await Channel.filter(id=channel.id).update(
        test_time=int(time.time()), response_time=int(result.seconds * 1000)
    )
    options = state.options.current
    threshold = options.float("ChannelDisableThreshold")
    too_slow = result.ok and threshold > 0 and result.seconds > threshold
    if too_slow:
        result = ProbeResult(
            False,
            result.seconds,
            f"response time {result.seconds:.2f}s is above {threshold:g}s",
            result.usage,
            Failure(0, "response_time_exceeded"),
        )
    if not result.ok:
        # A deliberate probe that fails is evidence enough (new-api disables on it too).
        if options.bool("AutomaticDisableChannelEnabled") and channel.auto_ban:
            await disable(state, channel.id, result.message)
    elif channel.status == CHANNEL_AUTO_DISABLED and options.bool("AutomaticEnableChannelEnabled"):
        await enable(state, channel.id)
    return result
