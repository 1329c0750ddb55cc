"""The model request rate limit through real servers: SDK errors, bursts, groups, two nodes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import anthropic
import openai
import pytest

from bench.fakes import FakeError
from tests.conftest import StartGateway
from tests.relay.conftest import Relay, StartRelay, new_key, new_user

HI = [{"role": "user", "content": "hi"}]


async def limit(relay: Relay, total: int, success: int, groups: Any = None) -> None:
    await relay.option("ModelRequestRateLimitDurationMinutes", 1)
    await relay.option("ModelRequestRateLimitCount", total)
    await relay.option("ModelRequestRateLimitSuccessCount", success)
    await relay.option("ModelRequestRateLimitGroup", groups or {})
    await relay.option("ModelRequestRateLimitEnabled", True)


async def chat(client: openai.AsyncOpenAI, model: str = "gpt-4o-mini") -> str:
    reply = await client.chat.completions.create(model=model, messages=HI)
    return reply.choices[0].message.content or ""


async def refused(client: openai.AsyncOpenAI) -> openai.RateLimitError:
    with pytest.raises(openai.RateLimitError) as error:
        await chat(client)
    return error.value


def seconds_to_wait(message: str) -> int:
    found = re.search(r"; try again in (\d+) seconds$", message)
    assert found, message
    return int(found.group(1))


async def test_total_limit_counts_failures_and_refuses_in_openai_format(relay: Relay) -> None:
    await relay.channel()
    client = relay.openai(await relay.key())
    await limit(relay, total=3, success=100)
    with pytest.raises(openai.APIStatusError) as failed:
        await chat(client, model="gpt-4o")  # no channel serves it: 503, still counted
    assert failed.value.status_code == 503
    assert [await chat(client) for _ in range(2)] == ["Hello from the fake provider!"] * 2
    error = await refused(client)
    assert error.status_code == 429 and error.type == "rate_limit_error"
    assert error.code == "rate_limit_exceeded"
    message = error.body["message"]  # type: ignore[index]
    assert message.startswith(
        "reached request limit: at most 3 in 1 minutes (failed requests included); "
    )
    assert 1 <= seconds_to_wait(message) <= 60
    assert error.response.headers["Retry-After"] == str(seconds_to_wait(message))
    assert len(relay.fake.requests) == 2  # the refused request never reached upstream


async def test_success_limit_ignores_failed_requests(relay: Relay) -> None:
    await relay.channel()
    client = relay.openai(await relay.key())
    await limit(relay, total=0, success=2)
    relay.fake.scenario.error = FakeError(status=500, times=3)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            await chat(client)
    assert [await chat(client) for _ in range(2)] == ["Hello from the fake provider!"] * 2
    error = await refused(client)
    assert error.body["message"].startswith(  # type: ignore[index]
        "reached request limit: at most 2 in 1 minutes; try again in "
    )
    await relay.option("ModelRequestRateLimitEnabled", False)
    assert await chat(client) == "Hello from the fake provider!"


async def test_claude_callers_get_the_refusal_in_claude_format(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    await limit(relay, total=0, success=1)
    async with anthropic.AsyncAnthropic(
        base_url=relay.gateway.url, api_key=key, max_retries=0
    ) as client:
        reply = await client.messages.create(model="gpt-4o-mini", max_tokens=10, messages=HI)
        assert reply.content[0].type == "text"
        with pytest.raises(anthropic.RateLimitError) as error:
            await client.messages.create(model="gpt-4o-mini", max_tokens=10, messages=HI)
    assert error.value.status_code == 429
    body = error.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["message"].startswith("reached request limit: at most 1 in 1 minutes;")


async def burst(clients: list[openai.AsyncOpenAI], size: int) -> tuple[int, int]:
    """``size`` concurrent requests spread over ``clients``: (answered, refused with 429)."""
    results = await asyncio.gather(
        *(chat(clients[i % len(clients)]) for i in range(size)), return_exceptions=True
    )
    unexpected = [r for r in results if isinstance(r, BaseException)]
    unexpected = [r for r in unexpected if not isinstance(r, openai.RateLimitError)]
    assert not unexpected, unexpected
    answered = sum(1 for r in results if isinstance(r, str))
    return answered, len(results) - answered


@pytest.mark.parametrize("which", ["total", "success"])
async def test_a_concurrent_burst_admits_exactly_the_limit(relay: Relay, which: str) -> None:
    await relay.channel()
    client = relay.openai(await relay.key())
    await limit(relay, total=5 if which == "total" else 0, success=5 if which == "success" else 0)
    relay.fake.scenario.first_byte_delay = 0.3  # all are in flight together
    assert await burst([client], 30) == (5, 25)
    assert len(relay.fake.requests) == 5


async def test_group_override_by_token_group_else_user_group(relay: Relay) -> None:
    await relay.channel()
    await relay.channel(name="vip", group="vip")
    plain = relay.openai(await relay.key())
    vip = relay.openai(await relay.key(group="vip"))
    await limit(relay, total=0, success=3, groups={"vip": [0, 1], "svip": [2, 0]})
    assert await chat(vip) == "Hello from the fake provider!"
    assert "at most 1 in 1 minutes" in (await refused(vip)).body["message"]  # type: ignore[index]
    # The log is the user's: the vip request counts, against the default group's 3.
    assert [await chat(plain) for _ in range(2)] == ["Hello from the fake provider!"] * 2
    assert "at most 3 in 1 minutes" in (await refused(plain)).body["message"]  # type: ignore[index]
    # A user in group svip calling with a key without a group gets svip's override,
    # and has logs of its own.
    user_id, user = await new_user(relay, "svipuser", quota=10_000_000)
    edited = await relay.root.put("/api/user/", {"id": user_id, "group": "svip"})
    assert edited.success, edited.body
    await relay.channel(name="svip", group="svip")
    _, key = await new_key(user)
    await user.close()
    svip = relay.openai(key)
    assert [await chat(svip) for _ in range(2)] == ["Hello from the fake provider!"] * 2
    error = await refused(svip)
    assert "at most 2 in 1 minutes (failed requests included)" in error.body["message"]  # type: ignore[index]


async def test_invalid_group_table_is_refused(relay: Relay) -> None:
    for bad in ({"vip": [1]}, {"vip": [-1, 2]}, {"vip": [1.5, 2]}, [1, 2]):
        reply = await relay.root.put(
            "/api/option/", {"key": "ModelRequestRateLimitGroup", "value": bad}
        )
        assert not reply.success and "ModelRequestRateLimitGroup" in reply.message


async def test_two_nodes_sharing_redis_admit_exactly_the_limit(
    start_relay: StartRelay, start_gateway: StartGateway, redis_url: str
) -> None:
    first = await start_relay(REDIS_CONN_STRING=redis_url)
    await first.channel()
    key = await first.key()
    await limit(first, total=0, success=7)
    first.fake.scenario.first_byte_delay = 0.3
    # The second node reads the channel and the options from the shared database at start.
    second = await start_gateway(REDIS_CONN_STRING=redis_url, BATCH_UPDATE_INTERVAL="1")
    second_client = openai.AsyncOpenAI(
        base_url=second.url + "/v1", api_key=key, max_retries=0, timeout=60
    )
    first.clients.append(second_client)  # closed with the first node's clients
    clients = [first.openai(key), second_client]
    assert await burst(clients, 40) == (7, 33)
    assert len(first.fake.requests) == 7
    for client in clients:
        assert "at most 7 in 1 minutes" in (await refused(client)).body["message"]  # type: ignore[index]
