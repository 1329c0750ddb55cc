"""Quota end to end: exact limits under concurrency, settled totals, admin edits at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import openai
import pytest

from bench.fakes import FakeError
from tests.relay.conftest import Relay, all_logs, new_key, new_user

PRICE = 0.002  # USD per call: 0.002 x 500 000 = 1 000 quota
COST = 1_000
ROOT_QUOTA = 100_000_000
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def fire(relay: Relay, key: str, count: int, **extra: Any) -> list[tuple[int, Any]]:
    """``count`` chats at once, each on its own connection: [(status, JSON body)]."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one() -> tuple[int, Any]:
            async with http.post(
                relay.gateway.url + "/v1/chat/completions",
                json={**CHAT, **extra},
                headers={"Authorization": f"Bearer {key}"},
            ) as resp:
                if extra.get("stream"):
                    return resp.status, await resp.read()
                return resp.status, await resp.json(content_type=None)

        return list(await asyncio.gather(*(one() for _ in range(count))))


def refusals(results: list[tuple[int, Any]], code: str) -> int:
    """How many results are 403s in OpenAI's error format with ``code``; fails on others."""
    refused = [body for status, body in results if status != 200]
    assert all(status in (200, 403) for status, _ in results), {s for s, _ in results}
    for body in refused:
        assert set(body["error"]) >= {"message", "type", "code"}, body
        assert body["error"]["code"] == code, body
    return len(refused)


async def get(relay: Relay, path: str) -> dict[str, Any]:
    reply = await relay.root.get(path)
    assert reply.success, reply.body
    return dict(reply.data)


async def per_call_price(relay: Relay) -> None:
    await relay.channel()
    await relay.option("ModelPrice", {"gpt-4o-mini": PRICE})


async def test_limited_key_spends_exactly_its_quota_under_concurrency(relay: Relay) -> None:
    await per_call_price(relay)
    token_id, key = await new_key(relay.root, unlimited_quota=False, remain_quota=40 * COST + 500)
    relay.fake.scenario.error = FakeError(500, times=30)
    failed = await fire(relay, key, 30)  # refunded in full: they must not eat the balance
    assert [status for status, _ in failed] == [500] * 30
    relay.fake.clear()
    results = await fire(relay, key, 200)
    assert refusals(results, "pre_consume_token_quota_failed") == 160
    assert len(relay.fake.requests) == 40
    logs = await all_logs(relay, 40)
    assert len(logs) == 40 and sum(log["quota"] for log in logs) == 40 * COST
    token = await get(relay, f"/api/token/{token_id}")
    assert (token["remain_quota"], token["used_quota"]) == (500, 40 * COST)
    me = await get(relay, "/api/user/self")
    assert (me["quota"], me["used_quota"]) == (ROOT_QUOTA - 40 * COST, 40 * COST)
    # The cached balance agrees with the database: still nothing left for one more call.
    (after,) = await fire(relay, key, 1)
    assert after[0] == 403 and after[1]["error"]["code"] == "pre_consume_token_quota_failed"


async def test_user_quota_is_exact_under_concurrency(relay: Relay) -> None:
    await per_call_price(relay)
    user_id, client = await new_user(relay, "spender", 25 * COST + 999)
    try:
        token_id, key = await new_key(client)
        results = await fire(relay, key, 200)
        assert refusals(results, "insufficient_user_quota") == 175
        logs = await all_logs(relay, 25, username="spender")
        assert len(logs) == 25 and sum(log["quota"] for log in logs) == 25 * COST
        user = await get(relay, f"/api/user/{user_id}")
        assert (user["quota"], user["used_quota"]) == (999, 25 * COST)
        assert user["request_count"] == 25
        token = await client.get(f"/api/token/{token_id}")
        assert token.success and token.data["used_quota"] == 25 * COST
        # An admin raising the user's quota is seen by the very next request.
        raised = await relay.root.put("/api/user/", {"id": user_id, "quota": 2 * COST + 999})
        assert raised.success, raised.body
        results = await fire(relay, key, 5)
        assert refusals(results, "insufficient_user_quota") == 3
    finally:
        await client.close()


async def test_ratio_pricing_totals_agree_after_a_mixed_run(relay: Relay) -> None:
    await relay.channel()
    initial = 2_000_000
    user_id, client = await new_user(relay, "mixer", initial)
    try:
        _, key = await new_key(client)
    finally:
        await client.close()
    scenario = relay.fake.scenario
    scenario.prompt_tokens, scenario.completion_tokens = 1000, 200
    scenario.error = FakeError(500, times=5)  # five calls fail upstream: refunded, not logged
    plain = await fire(relay, key, 40)
    assert sorted(status for status, _ in plain) == [200] * 35 + [500] * 5
    scenario.prompt_tokens, scenario.completion_tokens, scenario.cached_tokens = 37, 11, 20
    streamed = await fire(relay, key, 20, stream=True)
    scenario.stream_usage = "never"  # upstream reports nothing: the relay estimates
    estimated = await fire(relay, key, 10, stream=True, max_tokens=50)
    assert all(status == 200 for status, _ in streamed + estimated)
    logs = await all_logs(relay, 65, username="mixer")
    assert len(logs) == 65
    logged = sum(log["quota"] for log in logs)
    assert logged > 35 * 135  # 35 x (1000 + 200 x 4) x 0.075, plus the streams
    user = await get(relay, f"/api/user/{user_id}")
    assert user["used_quota"] == logged == initial - user["quota"]


async def test_admin_edit_of_remain_quota_applies_to_the_next_request(relay: Relay) -> None:
    await per_call_price(relay)
    token_id, key = await new_key(relay.root, unlimited_quota=False, remain_quota=2 * COST)
    client = relay.openai(key)
    for _ in range(2):
        await client.chat.completions.create(**CHAT)
    with pytest.raises(openai.PermissionDeniedError):
        await client.chat.completions.create(**CHAT)
    # An edit sets an absolute balance: let the usage made before it reach the database first.
    await all_logs(relay, 2)
    raised = await relay.root.put("/api/token/", {"id": token_id, "remain_quota": 3 * COST})
    assert raised.success, raised.body
    for _ in range(3):
        await client.chat.completions.create(**CHAT)
    with pytest.raises(openai.PermissionDeniedError) as spent:
        await client.chat.completions.create(**CHAT)
    assert spent.value.code == "pre_consume_token_quota_failed"
    await all_logs(relay, 5)
    token = await get(relay, f"/api/token/{token_id}")
    assert (token["remain_quota"], token["used_quota"]) == (0, 5 * COST)
    raised = await relay.root.put("/api/token/", {"id": token_id, "remain_quota": 10 * COST})
    assert raised.success, raised.body
    await client.chat.completions.create(**CHAT)
    await all_logs(relay, 6)
    lowered = await relay.root.put("/api/token/", {"id": token_id, "remain_quota": COST - 1})
    assert lowered.success, lowered.body
    with pytest.raises(openai.PermissionDeniedError):
        await client.chat.completions.create(**CHAT)


async def test_disabled_and_expired_keys_are_refused_at_once(relay: Relay) -> None:
    await relay.channel()
    token_id, key = await new_key(relay.root)
    client = relay.openai(key)
    await client.chat.completions.create(**CHAT)
    disabled = await relay.root.put("/api/token/", {"id": token_id, "status": 2})
    assert disabled.success, disabled.body
    with pytest.raises(openai.AuthenticationError) as refused:
        await client.chat.completions.create(**CHAT)
    assert refused.value.status_code == 401 and refused.value.message
    enabled = await relay.root.put("/api/token/", {"id": token_id, "status": 1})
    assert enabled.success, enabled.body
    await client.chat.completions.create(**CHAT)
    past = int(time.time()) - 60
    expired = await relay.root.put("/api/token/", {"id": token_id, "expired_time": past})
    assert expired.success, expired.body
    with pytest.raises(openai.AuthenticationError):
        await client.chat.completions.create(**CHAT)
    _, born_expired = await new_key(relay.root, expired_time=past)
    with pytest.raises(openai.AuthenticationError):
        await relay.openai(born_expired).chat.completions.create(**CHAT)
    assert len(relay.fake.requests) == 2


async def test_absolute_quota_edit_before_the_flush_is_exact(start_relay: Any) -> None:
    """An admin sets remain_quota while this node still holds unflushed usage for the key."""
    relay = await start_relay(BATCH_UPDATE_INTERVAL="3600")  # nothing flushes on its own
    await per_call_price(relay)
    token_id, key = await new_key(relay.root, unlimited_quota=False, remain_quota=10 * COST)
    assert [s for s, _ in await fire(relay, key, 2)] == [200, 200]
    edited = await relay.root.put("/api/token/", {"id": token_id, "remain_quota": 5 * COST})
    assert edited.success, edited.body
    results = await fire(relay, key, 8)
    assert sum(status == 200 for status, _ in results) == 5
    assert refusals(results, "pre_consume_token_quota_failed") == 3
    # The edit flushed the first two calls; the other five are written on the next edit.
    await relay.root.put("/api/token/", {"id": token_id, "name": "flush-me", "remain_quota": 0})
    token = await get(relay, f"/api/token/{token_id}")
    assert (token["remain_quota"], token["used_quota"]) == (0, 7 * COST)
