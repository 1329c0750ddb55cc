"""The relay pipeline every endpoint shares: read the body, start a job (model checks, price,
reservation), open an upstream with failover, then finish a plain answer or relay a stream.

Endpoint modules (:mod:`~newapi.relay.openai_api`, :mod:`~newapi.relay.media`, the realtime
session routes) only say what to read and how to translate; the steps here bill and log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import orjson
from quart import Response, g, request

from newapi.adaptors.base import Call
from newapi.billing.prices import Price, PriceNotSet, accepts_unset_models, price_for
from newapi.billing.quota import reserve_for
from newapi.errors import (
    InvalidRelayRequest,
    PriceNotConfigured,
    ServiceUnavailable,
    UpstreamFailed,
)
from newapi.options.registry import Options
from newapi.protocol.convert import StreamError
from newapi.protocol.depth import MAX_DEPTH, too_deep
from newapi.protocol.tokens import estimate_text
from newapi.protocol.usage import Usage
from newapi.relay.affinity import lookup_for, settings_of
from newapi.relay.auth import Caller, check_model_allowed
from newapi.relay.health import report_failure
from newapi.relay.job import Job
from newapi.relay.metering import settle
from newapi.relay.stream import events
from newapi.relay.translate import StreamTranslator, Translator
from newapi.relay.upstream import BodyBuilder, Opened, candidates, open_upstream
from newapi.routing.affinity import log_info
from newapi.routing.groups import AUTO, group_of, serving_groups
from newapi.routing.index import RoutingIndex
from newapi.state import AppState

log = logging.getLogger(__name__)
DEFAULT_COMPLETION_BUDGET = 1024  # completion tokens reserved when the caller set no limit


async def read_json() -> dict[str, Any]:
    """The request body as a JSON object, refused (400) unless the relay can write it back."""
    raw = await request.get_data(cache=False)
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise InvalidRelayRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRelayRequest("the request body must be a JSON object")
    if too_deep(body):
        raise InvalidRelayRequest(
            f"the request body nests more than {MAX_DEPTH} levels of arrays and objects"
        )
    return body


def prompt_estimate(body: dict[str, Any]) -> int:
    """A cheap, tokenizer-free estimate of the input, for the reservation and as a fallback."""
    total = 0
    system = body.get("system")  # Claude's top-level system prompt
    if isinstance(system, str):
        total += estimate_text(system)
    elif isinstance(system, list):
        total += sum(estimate_text(b.get("text", "")) for b in system if isinstance(b, dict))
    messages = body.get("messages")
    items = body.get("input")  # the Responses API's input: a string or a list of items
    for message in (messages if isinstance(messages, list) else []) + (
        [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    ):
        total += 3
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += estimate_text(content)
        elif isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, dict) else None
                total += estimate_text(text) if isinstance(text, str) else 85
    for field in ("prompt", "input", "query", "instructions"):
        value = body.get(field)
        items = value if isinstance(value, list) else [value]
        total += sum(estimate_text(v) for v in items if isinstance(v, str))
    return total + _gemini_estimate(body) + 3


def _gemini_estimate(body: dict[str, Any]) -> int:
    """Gemini's ``contents``, ``systemInstruction`` and embedding ``content``/``requests``."""
    contents = body.get("contents")
    items: list[Any] = list(contents) if isinstance(contents, list) else []
    items += [body.get("systemInstruction"), body.get("content")]
    requests = body.get("requests")
    if isinstance(requests, list):
        items += [r.get("content") for r in requests if isinstance(r, dict)]
    total = 0
    for content in items:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            text = part.get("text") if isinstance(part, dict) else None
            total += estimate_text(text) if isinstance(text, str) else 3 if text is None else 0
        total += 3 if isinstance(parts, list) else 0
    return total


def completion_budget(body: dict[str, Any]) -> int | None:
    """The most the caller let the model write (chat, Claude, Responses field names)."""
    config = body.get("generationConfig")  # Gemini's maxOutputTokens
    scopes = (body, config) if isinstance(config, dict) else (body,)
    for scope in scopes:
        for field in (
            "max_completion_tokens",
            "max_tokens",
            "max_output_tokens",
            "maxOutputTokens",
        ):
            value = scope.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


async def start_job(
    state: AppState, caller: Caller, path: str, body: dict[str, Any], model: str, stream: bool
) -> Job:
    options = state.options.current
    g.relay_model = model
    check_recordable(state)
    check_model_allowed(caller, model)
    check_served(state.channels.index, caller, model)
    caller = route_auto_group(state, caller, model)
    price = caller_price(options, caller, model)
    estimate = prompt_estimate(body)
    amount = reserve_for(
        estimate,
        completion_budget(body),
        price,
        options.float("QuotaPerUnit"),
        DEFAULT_COMPLETION_BUDGET,
    )
    token = caller.token
    reservation = await state.ledger.reserve(
        user_id=caller.user_id,
        token_id=caller.token_id,
        token_key=caller.key,
        limited=not token.get("unlimited_quota"),
        amount=amount,
    )
    stream_options = body.get("stream_options")
    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
    job = Job(
        caller,
        path,
        model,
        body,
        stream,
        include_usage,
        price,
        reservation,
        estimate,
        ip=request.remote_addr or "",
    )
    g.relay_job = job  # for the error log and the request id of an error answer
    return job


def check_recordable(state: AppState) -> None:
    """Refuse (503) while this process holds ``NEWAPI_MAX_UNWRITTEN_USAGE`` settlements the
    database has not taken (an outage): serving more would grow memory without bound."""
    if state.writer.unwritten >= state.settings.max_unwritten_usage:
        raise ServiceUnavailable("database unavailable: usage cannot be recorded, try again later")


def check_served(index: RoutingIndex, caller: Caller, model: str) -> None:
    """Refuse a model no channel serves for ``caller`` (503 ``model_not_found``) before it is
    priced, as new-api's distributor does: an unserved model is not a pricing problem."""
    candidates(index, caller, model)


def caller_price(options: Options, caller: Caller, model: str) -> Price:
    """The price of ``model`` for ``caller``; a model without one is the administrator's to fix.

    As new-api: ``SelfUseModeEnabled``, or the user's own setting that accepts models without
    a ratio, serves it at ratio 37.5 (billed and logged as any other call).
    """
    user_group = str(caller.user.get("group") or "")
    try:
        return price_for(options, model, caller.group, user_group)
    except PriceNotSet:
        if accepts_unset_models(caller.user.get("setting")):
            return price_for(options, model, caller.group, user_group, accept_unset=True)
        raise PriceNotConfigured(
            f"model {model} has no ratio or price configured; ask an administrator to set one"
        ) from None


def route_auto_group(state: AppState, caller: Caller, model: str) -> Caller:
    """An ``auto`` key takes the first AutoGroup serving ``model`` (billed at its ratio);
    with ``cross_group_retry`` the later ones stay behind it for failover."""
    if caller.group != AUTO or caller.forced_channel is not None:
        return caller
    groups = serving_groups(state.channels.index, caller.auto_groups, model)  # checked: not ()
    chain = groups if caller.token.get("cross_group_retry") else groups[:1]
    routed = replace(caller, group=groups[0], auto_groups=chain)
    g.relay_caller = routed
    return routed


def serving_caller(state: AppState, caller: Caller, model: str, channel_id: int) -> Caller:
    """A cross-group retry served from a later group: the caller as that group (its ratio
    bills); otherwise ``caller`` unchanged."""
    if len(caller.auto_groups) < 2:
        return caller
    group = group_of(state.channels.index, caller.auto_groups, model, channel_id)
    return replace(caller, group=group) if group and group != caller.group else caller


def _follow_group(state: AppState, job: Job, opened: Opened) -> None:
    routed = serving_caller(state, job.caller, job.model, opened.channel.id)
    if routed is not job.caller:
        job.price = caller_price(state.options.current, routed, job.model)
        job.caller = routed


async def open_for_job(
    state: AppState,
    job: Job,
    endpoint: str,
    build_body: BodyBuilder,
    content_type: str = "application/json",
    gemini_action: str = "",
) -> Opened:
    """Open an upstream for ``job`` with failover; its reservation is refunded if none answers."""
    options = state.options.current
    call = Call(
        endpoint,
        job.model,
        job.stream,
        {k.lower(): v for k, v in request.headers.items()},
        {"azure_default_api_version": state.settings.azure_default_api_version},
        caller_query=dict(request.args),
        content_type=content_type,
        gemini_action=gemini_action,
    )
    settings = settings_of(options)
    try:
        found = await lookup_for(
            state.affinity, settings, state.channels.index, job, call.caller_headers
        )
        opened = await open_upstream(
            state.http,
            state.channels.index,
            job.caller,
            model=job.model,
            call=call,
            build_body=build_body,
            retry_times=options.int("RetryTimes"),
            retry_ranges=options.status_ranges("AutomaticRetryStatusCodes"),
            attempts=job.attempts,
            on_failure=lambda channel, failure: state.spawn(
                report_failure(state, channel, failure), "channel-health"
            ),
            turns=state.channels.next_turn,
            idle_timeout=float(state.settings.streaming_timeout) if job.stream else None,
            tokens=state.access_tokens,
            prefer=found.preference if found is not None else None,
        )
    except BaseException:
        await settle(state, job, None, None)
        raise
    job.key_index = opened.key_index
    if found is not None:  # channel affinity: remember who served, off the answer's path
        job.affinity = log_info(found.match, found.preference, opened.channel.id)
        record = state.affinity.record(settings, found, opened.channel, opened.key_index)
        state.spawn(record, "channel-affinity")
    _follow_group(state, job, opened)
    return opened


async def finish_plain(
    state: AppState, job: Job, opened: Opened, translator: Translator
) -> Response:
    try:
        raw = await opened.response.read()
    except (aiohttp.ClientError, TimeoutError):
        await settle(state, job, None, None)
        raise UpstreamFailed("the upstream connection broke while answering") from None
    finally:
        opened.response.release()
    job.mark_first_byte()
    out, usage = translator.plain(raw)
    await _settle_served(state, job, opened, usage)
    content_type = opened.response.headers.get("Content-Type", "application/json")
    return Response(out, status=opened.response.status, content_type=content_type)


async def relay_stream(
    state: AppState, job: Job, opened: Opened, translator: StreamTranslator
) -> AsyncIterator[bytes]:
    """Each upstream event out at once; how the stream ended goes to ``job.stream_status``.

    An upstream that stops before its own end (closed, idle past ``STREAMING_TIMEOUT``, broken,
    or an in-stream error) gets the caller an error event in its format instead of a clean end:
    a truncated answer must not look complete. What was delivered is billed either way, and
    settled (journaled) before the last bytes go out: a finished stream is always paid for.
    """
    reason, problem = "client_gone", ""
    settled = False
    held: list[bytes] = []  # upstream's own end (message_stop...): sent after the settlement
    try:
        try:
            async for event in events(opened.response):
                outs = translator.event(event)
                if translator.finished:
                    held += outs
                    continue
                for out in outs:
                    job.mark_first_byte()
                    yield out
            reason = "done" if translator.finished else "eof"
            problem = "" if translator.finished else "the upstream closed the stream early"
        except TimeoutError:
            reason = "timeout"
            problem = f"the upstream sent nothing for {state.settings.streaming_timeout:g} s"
        except StreamError as error:
            reason, problem = "upstream_error", f"the upstream failed: {error.message}"
        except (aiohttp.ClientError, ValueError):
            reason, problem = "upstream_error", "the upstream connection broke"
        tail = held + (translator.fail(problem) if problem else translator.end())
        _stream_ended(job, opened, reason, problem)
        settled = True
        await _settle_stream(state, job, opened, translator)
        for out in tail:
            yield out
    finally:
        if not settled:  # the caller went away (or the server is stopping): settle anyway
            _stream_ended(job, opened, reason, problem)
            state.spawn(_settle_stream(state, job, opened, translator))


def _stream_ended(job: Job, opened: Opened, reason: str, problem: str) -> None:
    job.stream_status = {"status": "ok" if reason == "done" else "error", "end_reason": reason}
    if problem:
        job.stream_status["end_error"] = problem
    opened.response.close()


async def _settle_stream(
    state: AppState, job: Job, opened: Opened, translator: StreamTranslator
) -> None:
    await _settle_served(state, job, opened, translator.usage())


async def _settle_served(state: AppState, job: Job, opened: Opened, usage: Usage | None) -> None:
    channel = opened.channel if usage is not None else None
    try:
        await settle(state, job, channel, usage, upstream_model=opened.upstream_model)
    except ServiceUnavailable:
        # The usage is recorded (metering records before correcting the balance): the answer
        # is paid for and goes out; only the cached balance missed its correction.
        log.error("request %s: quota balance not corrected (cache unavailable)", job.request_id)
