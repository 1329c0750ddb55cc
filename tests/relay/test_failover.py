"""Failover end to end: retries on another channel, tier order, status classes, fairness."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp
import openai
import pytest

from bench.fakes import FakeError
from tests.relay.conftest import Relay, all_logs, log_other

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def chat(relay: Relay, key: str) -> tuple[str, Any]:
    """One chat through the SDK: (the gateway's request id, the parsed reply)."""
    raw = await relay.openai(key).chat.completions.with_raw_response.create(**CHAT)
    return raw.headers["X-Oneapi-Request-Id"], raw.parse()


async def post_chat(relay: Relay, key: str) -> tuple[int, dict[str, Any], str]:
    """One chat over plain HTTP: (status, JSON body, raw body text)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/chat/completions",
            json=CHAT,
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        text = await resp.text()
        return resp.status, await resp.json(content_type=None), text


def used_channels(log: dict[str, Any]) -> list[int]:
    return list(log_other(log)["admin_info"]["use_channel"])


async def test_failed_sibling_is_tried_once_then_the_other(relay: Relay) -> None:
    await relay.option("RetryTimes", 2)
    bad = await relay.channel(name="bad", key="sk-fail-500", weight=1)
    good = await relay.channel(name="good", key="sk-good-0001", weight=1)
    key = await relay.key()
    expected: dict[str, list[int]] = {}
    for _ in range(24):
        before_bad, before_good = (
            len(relay.fake.requests_for("sk-fail-500")),
            len(relay.fake.requests_for("sk-good-0001")),
        )
        request_id, reply = await chat(relay, key)
        assert reply.choices[0].message.content == relay.fake.scenario.text
        bad_tries = len(relay.fake.requests_for("sk-fail-500")) - before_bad
        assert bad_tries in (0, 1), "a failed channel was tried twice in one request"
        assert len(relay.fake.requests_for("sk-good-0001")) - before_good == 1
        expected[request_id] = [bad, good] if bad_tries else [good]
    logs = {log["request_id"]: log for log in await all_logs(relay, 24)}
    assert {rid: used_channels(logs[rid]) for rid in expected} == expected
    assert all(logs[rid]["channel"] == good for rid in expected)
    orders = {tuple(order) for order in expected.values()}
    assert orders == {(bad, good), (good,)}, "both pick orders should occur in 24 requests"


async def test_tiers_are_walked_top_down_without_skipping(relay: Relay) -> None:
    await relay.option("RetryTimes", 2)
    upper_a = await relay.channel(name="a", key="sk-a-fail-500", priority=10, weight=1)
    upper_b = await relay.channel(name="b", key="sk-b-fail-503", priority=10, weight=1)
    lower = await relay.channel(name="low", key="sk-low-0001", priority=0, weight=1)
    key = await relay.key()
    ids = []
    for round_ in range(1, 21):
        request_id, _ = await chat(relay, key)
        ids.append(request_id)
        assert len(relay.fake.requests_for("sk-a-fail-500")) == round_
        assert len(relay.fake.requests_for("sk-b-fail-503")) == round_
    logs = {log["request_id"]: log for log in await all_logs(relay, 20)}
    orders = {tuple(used_channels(logs[rid])) for rid in ids}
    assert orders == {(upper_a, upper_b, lower), (upper_b, upper_a, lower)}
    # Two attempts only: both go to the upper tier, the lower one is never reached early.
    relay.fake.clear()
    await relay.option("RetryTimes", 1)
    status, body, _ = await post_chat(relay, key)
    tried = sorted(r.api_key for r in relay.fake.requests)
    assert tried == ["sk-a-fail-500", "sk-b-fail-503"]
    last = relay.fake.last.api_key
    assert status == (503 if last == "sk-b-fail-503" else 500) and body["error"]["message"]


async def test_status_classes_decide_the_retry_and_retry_times_caps_it(relay: Relay) -> None:
    await relay.channel(name="first", key="sk-first-0001", priority=10)
    await relay.channel(name="second", key="sk-second-0001", priority=0)
    key = await relay.key()
    first = relay.fake.channel("sk-first-0001")
    # RetryTimes is 0 by default: exactly one attempt, its status goes to the caller.
    first.error = FakeError(500)
    with pytest.raises(openai.InternalServerError) as failed:
        await relay.openai(key).chat.completions.create(**CHAT)
    assert failed.value.status_code == 500
    assert [r.api_key for r in relay.fake.requests] == ["sk-first-0001"]
    await relay.option("RetryTimes", 1)
    for status in (429, 401, 500, 503):
        relay.fake.clear()
        first.error = FakeError(status)
        _, reply = await chat(relay, key)
        assert reply.choices[0].message.content, status
        tried = [r.api_key for r in relay.fake.requests]
        assert tried == ["sk-first-0001", "sk-second-0001"], status
    # A stream fails over the same way: no byte had reached the caller yet.
    relay.fake.clear()
    first.error = FakeError(500)
    stream = await relay.openai(key).chat.completions.create(**CHAT, stream=True)
    texts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(texts) == relay.fake.scenario.text
    assert [r.api_key for r in relay.fake.requests] == ["sk-first-0001", "sk-second-0001"]
    for status in (408, 504):
        relay.fake.clear()
        first.error = FakeError(status)
        code, body, _ = await post_chat(relay, key)
        assert code == status and body["error"]["message"], (status, body)
        assert [r.api_key for r in relay.fake.requests] == ["sk-first-0001"], status
    relay.fake.clear()
    first.error = FakeError(400, message="Invalid 'temperature': above maximum.")
    code, body, _ = await post_chat(relay, key)
    assert code == 400 and set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "above maximum" in body["error"]["message"]
    assert [r.api_key for r in relay.fake.requests] == ["sk-first-0001"]
    with pytest.raises(openai.BadRequestError):  # what the SDK makes of it
        await relay.openai(key).chat.completions.create(**CHAT)


async def test_all_attempts_failed_gives_last_status_without_keys(relay: Relay) -> None:
    await relay.option("RetryTimes", 3)
    first_key, last_key = "sk-secret-alpha-0123456789", "sk-secret-bravo-9876543210"
    await relay.channel(name="first", key=first_key, priority=10)
    await relay.channel(name="last", key=last_key, priority=0)
    relay.fake.channel(first_key).error = FakeError(
        401, message=f"Incorrect API key provided: {first_key}."
    )
    relay.fake.channel(last_key).error = FakeError(
        503, message=f"The engine is overloaded for key {last_key}, try later."
    )
    key = await relay.key()
    status, body, text = await post_chat(relay, key)
    assert status == 503
    assert set(body["error"]) >= {"message", "type", "code"}
    assert "The engine is overloaded for key" in body["error"]["message"]
    for secret in (first_key, last_key):
        assert secret not in text and secret[:12] not in text
        assert secret not in relay.gateway.log_text()
    assert [r.api_key for r in relay.fake.requests] == [first_key, last_key]


async def test_status_code_mapping_changes_what_the_caller_sees(relay: Relay) -> None:
    await relay.channel(key="sk-mapped-fail-429", status_code_mapping='{"429": "500"}')
    await relay.channel(key="sk-plain-fail-429", models="gpt-4o")
    key = await relay.key()
    status, body, _ = await post_chat(relay, key)
    assert status == 500 and body["error"]["message"]
    with pytest.raises(openai.RateLimitError) as plain:
        await relay.openai(key).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert plain.value.status_code == 429
    # The mapped status also decides the retry: a 400 mapped to 500 goes to the next channel.
    await relay.option("RetryTimes", 1)
    remap = {"models": "gpt-4.1-mini", "status_code_mapping": '{"400": "500"}'}
    await relay.channel(key="sk-remap-fail-400", priority=10, **remap)
    await relay.channel(key="sk-good-0001", models="gpt-4.1-mini", priority=0)
    relay.fake.clear()
    reply = await relay.openai(key).chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == relay.fake.scenario.text
    assert [r.api_key for r in relay.fake.requests] == ["sk-remap-fail-400", "sk-good-0001"]


async def test_model_mapping_sends_the_mapped_model_and_logs_both(relay: Relay) -> None:
    mapped = "gpt-4o-mini-2024-07-18"
    await relay.channel(model_mapping=f'{{"gpt-4o-mini": "{mapped}"}}')
    key = await relay.key()
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 1000, 200
    await relay.openai(key).chat.completions.create(**CHAT)
    assert relay.fake.last.model == mapped
    (log,) = await relay.logs(1)
    other = log_other(log)
    assert log["model_name"] == "gpt-4o-mini"
    assert other["upstream_model_name"] == mapped and other["is_model_mapped"] is True
    assert log["quota"] == 135  # billed at the caller's model: (1000 + 200 * 4) * 0.075


def chi_square_p(observed: list[int], weights: list[int]) -> float:
    """The p-value of a chi-square goodness-of-fit test with two degrees of freedom."""
    assert len(observed) == 3
    total = sum(observed)
    chi2 = sum(
        (count - total * weight / sum(weights)) ** 2 / (total * weight / sum(weights))
        for count, weight in zip(observed, weights, strict=True)
    )
    return math.exp(-chi2 / 2)


async def test_weighted_pick_is_fair_end_to_end(relay: Relay) -> None:
    weights = [1, 2, 7]
    keys = [f"sk-weight-{weight}" for weight in weights]
    for channel_key, weight in zip(keys, weights, strict=True):
        await relay.channel(name=channel_key, key=channel_key, weight=weight)
    await relay.option("LogConsumeEnabled", False)
    key = await relay.key()
    statuses: list[int] = []
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one() -> int:
            async with http.post(
                relay.gateway.url + "/v1/chat/completions",
                json=CHAT,
                headers={"Authorization": f"Bearer {key}"},
            ) as resp:
                await resp.read()
                return resp.status

        for _ in range(30):
            statuses += await asyncio.gather(*(one() for _ in range(100)))
    assert statuses == [200] * 3000
    observed = [len(relay.fake.requests_for(k)) for k in keys]
    assert sum(observed) == 3000
    assert chi_square_p(observed, weights) > 0.001, observed
