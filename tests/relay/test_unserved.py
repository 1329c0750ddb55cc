"""Channels of a type this version does not serve (issue 13): never picked, tested or disabled.

Such rows can only come from a new-api database, so the tests write them straight into the
table, with a key the fake providers fail with 401: were one ever probed or relayed to, the
auto-disable rules (switched on) would turn it off.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import openai
import pytest
from tortoise import Tortoise

from newapi.config import load_settings
from newapi.db.connection import tortoise_config
from newapi.db.migrate import migrate
from newapi.models import Channel
from newapi.relay.health import disable, report_failure
from newapi.routing.index import ChannelSnapshot
from newapi.routing.retry import Failure
from newapi.state import AppState
from tests.relay.conftest import Relay, StartRelay, poll

AWS = 33  # Bedrock: a new-api type this version has no adaptor for
ADOPTED_KEY = "sk-fail-401"
NOT_SERVED = "channel type 33 (AWS) is not served by this version of newapi"


def adopt(relay: Relay, models: str = "bedrock-only,gpt-4o-mini") -> int:
    """A row as a new-api node would have written it: enabled, auto_ban on, never tested."""
    path = relay.gateway.workdir / "one-api.db"
    with closing(sqlite3.connect(path, timeout=30)) as conn, conn:
        cursor = conn.execute(
            'INSERT INTO channels (type, key, status, name, models, "group", base_url, auto_ban,'
            " test_time) VALUES (?, ?, 1, 'adopted', ?, 'default', ?, 1, 0)",
            (AWS, ADOPTED_KEY, models, relay.fake.url),
        )
        return int(cursor.lastrowid or 0)


async def row(relay: Relay, channel_id: int) -> dict[str, Any]:
    reply = await relay.root.get(f"/api/channel/{channel_id}")
    assert reply.success, reply.body
    return dict(reply.data)


async def test_never_picked_tested_or_disabled(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    adopted = adopt(relay)
    served = await relay.channel(name="served", key="sk-probe-ok")  # also refreshes the cache
    answer = await relay.root.get(f"/api/channel/test/{adopted}")
    assert answer.body["success"] is False and answer.body["message"] == NOT_SERVED
    started = await relay.root.get("/api/channel/test")
    assert started.success and "testing 1 channel" in started.body["message"], started.body
    await poll(lambda: row(relay, served), lambda r: r["test_time"] > 0)
    key = await relay.key()
    client = relay.openai(key)
    for _ in range(4):  # the adopted channel has priority 0 too: it would be picked at random
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.APIStatusError):
        await client.chat.completions.create(
            model="bedrock-only", messages=[{"role": "user", "content": "hi"}]
        )
    listed = [model.id async for model in client.models.list()]
    assert "gpt-4o-mini" in listed and "bedrock-only" not in listed
    await asyncio.sleep(0.5)  # any failure report runs in the background
    assert relay.fake.requests_for(ADOPTED_KEY) == []
    stored = await row(relay, adopted)
    assert stored["status"] == 1 and stored["test_time"] == 0 and stored["served"] is False


async def test_scheduled_tests_leave_it_alone(start_relay: StartRelay) -> None:
    relay = await start_relay(CHANNEL_TEST_FREQUENCY="0.05")  # every 3 s
    await relay.option("AutomaticDisableChannelEnabled", True)
    adopted = adopt(relay)
    served = await relay.channel(name="served", key="sk-probe-ok")
    await poll(
        lambda: asyncio.sleep(0, relay.fake.requests_for("sk-probe-ok")),
        lambda probes: len(probes) >= 2,
        seconds=15,
    )
    assert len(relay.fake.requests_for("sk-probe-ok")) >= 2
    assert (await row(relay, served))["test_time"] > 0
    assert relay.fake.requests_for(ADOPTED_KEY) == []
    stored = await row(relay, adopted)
    assert stored["status"] == 1 and stored["test_time"] == 0


async def test_creating_one_is_refused_and_adopted_rows_stay_editable(relay: Relay) -> None:
    channel = {"type": AWS, "name": "b", "key": "ak|sk|us-east-1", "models": "m"}
    for mode in ("single", "batch", "multi_to_single"):
        refused = await relay.root.post("/api/channel/", {"mode": mode, "channel": channel})
        assert not refused.success and NOT_SERVED in refused.body["message"], (mode, refused.body)
    bare = await relay.root.post("/api/channel/", channel)  # the older bare-object form
    assert not bare.success and NOT_SERVED in bare.body["message"]
    adopted = adopt(relay)
    copied = await relay.root.post(f"/api/channel/copy/{adopted}")
    assert not copied.success and NOT_SERVED in copied.body["message"]
    served = await relay.channel(name="served")
    switched = await relay.root.put("/api/channel/", {"id": served, "type": AWS})
    assert not switched.success and NOT_SERVED in switched.body["message"]
    edited = await relay.root.put(
        "/api/channel/", {"id": adopted, "name": "renamed", "models": "bedrock-only", "priority": 3}
    )
    assert edited.success, edited.body
    assert edited.data["served"] is False and edited.data["type"] == AWS
    listed = (await relay.root.get("/api/channel/", params={"page_size": 100})).data["items"]
    by_id = {item["id"]: item for item in listed}
    assert by_id[adopted]["served"] is False and by_id[served]["served"] is True
    assert by_id[adopted]["name"] == "renamed" and by_id[adopted]["priority"] == 3
    found = (await relay.root.get("/api/channel/search", params={"keyword": "renamed"})).data
    assert [item["served"] for item in found["items"]] == [False]
    path = relay.gateway.workdir / "one-api.db"
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        count = conn.execute("SELECT COUNT(*) FROM channels WHERE type = ?", (AWS,)).fetchone()
    assert count == (1,)  # nothing but the adopted row


# ---- the health functions themselves, on a database of their own ---------------------------


class _State:
    """The part of AppState that ``disable`` uses; counts cache invalidations."""

    def __init__(self) -> None:
        self.changes = 0

    async def changed(self, _what: str) -> None:
        self.changes += 1

    @property
    def options(self) -> Any:
        raise AssertionError("an unserved channel's failure must not even read the options")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[None]:
    settings = load_settings({"SQLITE_PATH": str(tmp_path / "health.db")})
    await migrate(settings)
    await Tortoise.init(config=tortoise_config(settings))
    yield
    await Tortoise.close_connections()


async def test_disable_never_switches_off_an_unserved_row(database: None) -> None:
    state = _State()
    adopted = await Channel.create(type=AWS, key="k", status=1, name="a", models="m")
    served = await Channel.create(type=1, key="k", status=1, name="s", models="m")
    assert not await disable(cast(AppState, state), adopted.id, "HTTP 401")
    assert await disable(cast(AppState, state), served.id, "HTTP 401")
    assert (await Channel.get(id=adopted.id)).status == 1
    assert (await Channel.get(id=served.id)).status == 3 and state.changes == 1


async def test_report_failure_ignores_unserved_channels() -> None:
    channel = ChannelSnapshot(
        id=7, type=AWS, name="a", status=1, groups=("default",), models=("m",), served=False
    )
    # _State.options raises: returning quietly proves nothing past the guard ran.
    await report_failure(cast(AppState, _State()), channel, Failure(401, "invalid key"))
