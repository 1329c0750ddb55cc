"""Channel affinity end to end: the turns of a conversation go back to the channel and key of
its first turn (measured on the fake), failover still works and then sticks."""

from __future__ import annotations

import asyncio
from typing import Any

from openai import AsyncOpenAI

from bench.fakes import FakeError, Scenario
from tests.conftest import StartGateway
from tests.relay.conftest import Relay, StartRelay, log_other
from tests.relay.test_multi_key import multi_key_channel

CONVERSATIONS, TURNS = 20, 5
SINGLE_KEYS = ["sk-aff-one", "sk-aff-two"]
POOL_KEYS = ["sk-aff-pool-a", "sk-aff-pool-b"]


async def three_channels(relay: Relay) -> None:
    """Three channels of equal weight; the third is a random-mode pool of two keys."""
    for key in SINGLE_KEYS:
        await relay.channel(name=key, key=key, weight=10)
    pool = await multi_key_channel(relay, POOL_KEYS, "random")
    reply = await relay.root.put("/api/channel/", {"id": pool, "weight": 10})
    assert reply.success, reply.body
    await relay.option("RetryTimes", 3)


def opening(conversation: int) -> str:
    return f"conversation {conversation}: plan a trip"


async def converse(client: AsyncOpenAI, conversation: int, turns: int) -> None:
    """Turns of one chat; even conversations name themselves with ``prompt_cache_key``, odd
    ones do not (their prompt prefix names them)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You plan trips."},
        {"role": "user", "content": opening(conversation)},
    ]
    extra = {"prompt_cache_key": f"conv-{conversation}"} if conversation % 2 == 0 else {}
    for turn in range(turns):
        reply = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,
            extra_body=extra,  # type: ignore[arg-type]
        )
        messages += [
            {"role": "assistant", "content": reply.choices[0].message.content or ""},
            {"role": "user", "content": f"turn {turn + 1}"},
        ]


def served_keys(relay: Relay, conversation: int) -> list[str]:
    """The upstream keys that answered this conversation's turns, in order (failed attempts
    are the keys scripted to fail)."""
    marker = opening(conversation)
    return [
        request.api_key
        for request in relay.fake.requests
        if any(m.get("content") == marker for m in request.json.get("messages", []))
    ]


async def hit_rate(relay: Relay) -> float:
    """Run the conversations at once; the share of later turns served by the first's key."""
    client = relay.openai(await relay.key())
    await asyncio.gather(*(converse(client, c, TURNS) for c in range(CONVERSATIONS)))
    hits = later = 0
    for conversation in range(CONVERSATIONS):
        keys = served_keys(relay, conversation)
        assert len(keys) == TURNS
        hits += sum(key == keys[0] for key in keys[1:])
        later += TURNS - 1
    return hits / later


async def test_later_turns_hit_the_first_turns_channel_and_key(relay: Relay) -> None:
    await three_channels(relay)
    rate = await hit_rate(relay)
    print(f"affinity on: hit rate {rate:.0%}")
    assert rate == 1.0
    used = {request.api_key for request in relay.fake.requests}
    assert len(used) >= 3  # conversations still spread over the channels by weight
    logs = await relay.logs(CONVERSATIONS * TURNS)
    infos = [log_other(row)["admin_info"]["channel_affinity"] for row in logs]
    assert sum(info["hit"] for info in infos) == CONVERSATIONS * (TURNS - 1)
    rules = {info["rule_name"] for info in infos}
    assert rules == {"openai prompt_cache_key", "prompt prefix"}


async def test_without_affinity_the_turns_scatter(relay: Relay) -> None:
    await relay.option("channel_affinity_setting.enabled", False)
    await three_channels(relay)
    rate = await hit_rate(relay)
    print(f"affinity off: hit rate {rate:.0%}")
    # Expected about 0.28 (1/3 for the single-key channels, 1/6 for each pool key); 0.6 is
    # more than 7 standard deviations away.
    assert rate < 0.6


async def test_a_failed_channel_fails_over_and_the_conversation_sticks_to_the_new_one(
    relay: Relay,
) -> None:
    await three_channels(relay)
    client = relay.openai(await relay.key())
    await converse(client, 0, 2)
    (first,) = set(served_keys(relay, 0))
    relay.fake.channel(first, Scenario(error=FakeError(status=500)))
    relay.fake.requests.clear()
    await converse(client, 0, 1)  # turn 1 again: its channel answers 500, another serves
    failed, *rest = served_keys(relay, 0)
    assert failed == first and len(rest) == 1 and rest[0] != first
    relay.fake.keys.pop(first)  # the old channel is healthy again
    relay.fake.requests.clear()
    await converse(client, 0, 3)
    assert served_keys(relay, 0) == [rest[0]] * 3


async def test_admin_cache_stats_and_clear(relay: Relay) -> None:
    await three_channels(relay)
    client = relay.openai(await relay.key())
    await asyncio.gather(*(converse(client, c, 1) for c in range(4)))

    async def stats() -> dict[str, Any]:
        reply = await relay.root.get("/api/option/channel_affinity_cache")
        assert reply.success, reply.body
        return dict(reply.data)

    data = await stats()
    assert data["enabled"] is True and data["total"] == 4 and data["unknown"] == 0
    assert data["by_rule_name"]["openai prompt_cache_key"] == 2
    assert data["by_rule_name"]["prompt prefix"] == 2
    assert data["cache_algo"] in ("lru", "redis")
    missing = await relay.root.delete("/api/option/channel_affinity_cache")
    assert not missing.success
    unknown = await relay.root.delete(
        "/api/option/channel_affinity_cache", params={"rule_name": "nope"}
    )
    assert not unknown.success
    one = await relay.root.delete(
        "/api/option/channel_affinity_cache", params={"rule_name": "prompt prefix"}
    )
    assert one.success and one.data == {"deleted": 2}
    assert (await stats())["total"] == 2
    every = await relay.root.delete("/api/option/channel_affinity_cache", params={"all": "true"})
    assert every.success and every.data == {"deleted": 2}
    assert (await stats())["total"] == 0


async def test_two_nodes_sharing_redis_send_a_conversation_to_one_channel(
    start_relay: StartRelay, start_gateway: StartGateway, redis_url: str
) -> None:
    """With Redis the affinity is shared: turns alternating between two nodes still hit."""
    first = await start_relay(REDIS_CONN_STRING=redis_url)
    await three_channels(first)
    key = await first.key()
    second = await start_gateway(REDIS_CONN_STRING=redis_url, BATCH_UPDATE_INTERVAL="1")
    other = AsyncOpenAI(base_url=second.url + "/v1", api_key=key, max_retries=0, timeout=60)
    first.clients.append(other)  # closed with the first node's clients
    nodes = [first.openai(key), other]
    for conversation in range(6):
        messages: list[dict[str, str]] = [{"role": "user", "content": opening(conversation)}]
        for turn in range(4):
            await nodes[turn % 2].chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,  # type: ignore[arg-type]
            )
            messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "go"}]
        assert len(set(served_keys(first, conversation))) == 1
    reply = await first.root.get("/api/option/channel_affinity_cache")
    assert reply.data["cache_algo"] == "redis" and reply.data["total"] == 6
