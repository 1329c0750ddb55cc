"""Two Hypercorn workers (the ``workers > 1`` path of ``newapi serve``) sharing Redis: quota is
exact across them, and both serve."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from bench.fakes import FakeProviders
from tests.conftest import StartGateway
from tests.relay.conftest import Relay, StartRelay, all_logs, new_key, poll
from tests.relay.test_quota import COST, PRICE, fire, refusals
from tests.support.gateway import ROOT, setup_root

HELLO = [{"role": "user", "content": "hi"}]


async def test_two_workers_spend_a_key_exactly(
    start_gateway: StartGateway, redis_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "hypercorn.toml"
    config.write_text((ROOT / "hypercorn.toml").read_text().replace("workers = 1", "workers = 2"))
    gateway = await start_gateway(HYPERCORN_CONFIG=str(config), REDIS_CONN_STRING=redis_url)
    root = await setup_root(gateway.url)
    try:
        async with FakeProviders.start() as fake:
            relay = Relay(gateway, root, fake)
            await relay.channel()
            await relay.option("ModelPrice", {"gpt-4o-mini": PRICE})
            _, key = await new_key(root, unlimited_quota=False, remain_quota=30 * COST + 500)
            results = await fire(relay, key, 120)
            assert refusals(results, "pre_consume_token_quota_failed") == 90
            assert len(fake.requests) == 30
            logs = await all_logs(relay, 30)
            assert len(logs) == 30 and sum(log["quota"] for log in logs) == 30 * COST
    finally:
        await root.close()
    text = gateway.log_text()
    assert text.count("newapi ready") == 2, text  # both worker processes served
    assert "Traceback" not in text


async def test_a_second_node_sees_admin_writes_at_once(
    start_relay: StartRelay, start_gateway: StartGateway, redis_url: str
) -> None:
    """Channels and options changed on one node apply on the others through Redis, not after
    their next SYNC_FREQUENCY reload (an hour here)."""
    first = await start_relay(REDIS_CONN_STRING=redis_url, SYNC_FREQUENCY="3600")
    second = await start_gateway(
        REDIS_CONN_STRING=redis_url, SYNC_FREQUENCY="3600", BATCH_UPDATE_INTERVAL="1"
    )
    key = await first.key()
    client = openai.AsyncOpenAI(base_url=second.url + "/v1", api_key=key, max_retries=0, timeout=60)
    with pytest.raises(openai.APIStatusError) as before:
        await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert before.value.status_code == 503  # no channel yet
    await first.channel()  # created through the first node's admin API
    reply = await poll(lambda: _try(client), lambda answer: answer is not None, seconds=5)
    assert reply == first.fake.scenario.text
    await first.option("ModelPrice", {"gpt-4o-mini": 0.01})  # 5,000 quota a call

    async def priciest() -> int:
        await _try(client)
        reply = await first.root.get("/api/log/", params={"type": 2, "page_size": 100})
        return max((row["quota"] for row in reply.data["items"]), default=0)

    assert await poll(priciest, lambda quota: quota == 5_000, seconds=5) == 5_000


async def _try(client: openai.AsyncOpenAI) -> str | None:
    try:
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    except openai.APIStatusError:
        return None
    return reply.choices[0].message.content
