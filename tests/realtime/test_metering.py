"""Realtime billing end to end: one charge and one consume log per response, quota run-out."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.fakes import RealtimeScript, Scenario
from tests.realtime.conftest import Realtime, events_until, send
from tests.relay.conftest import all_logs, log_other, new_key, new_user, poll

MODEL = "gpt-4o-realtime-preview-billed"
UP_KEY = "sk-billed-up"


async def priced(rt: Realtime) -> None:
    """model 2.5, completion 4, audio 8, audio completion 2, cache 0.5, group 1.5."""
    await rt.price(MODEL, 2.5)
    await rt.option("CompletionRatio", orjson.dumps({MODEL: 4}).decode())
    await rt.option("AudioRatio", orjson.dumps({MODEL: 8}).decode())
    await rt.option("AudioCompletionRatio", orjson.dumps({MODEL: 2}).decode())
    await rt.option("CacheRatio", orjson.dumps({MODEL: 0.5}).decode())
    await rt.option("GroupRatio", orjson.dumps({"default": 1.5, "vip": 1}).decode())


@pytest.fixture(scope="module")
async def billed(rt: Realtime) -> Realtime:
    await priced(rt)
    await rt.channel(key=UP_KEY, models=MODEL, name="billed")
    # input 1000 = text 400 (200 cached) + audio 600 (100 cached); output 500 = 100 text + 400 audio
    rt.fake.channel(UP_KEY, Scenario(prompt_tokens=1000, cached_tokens=300, completion_tokens=500))
    rt.fake.realtime.script(
        UP_KEY,
        RealtimeScript(
            audio_chunks=3, audio_input_tokens=600, cached_audio_tokens=100, audio_output_tokens=400
        ),
    )
    return rt


# (400-200) + 200x0.5 + ((600-100) + 100x0.5) x 8 + 100 x 4 + 400 x 8 x 2 = 11500 tokens;
# x model 2.5 x group 1.5 = 43125 quota per response. Cached input is discounted.
PER_RESPONSE = 43125
FLOAT = 500 * 2.5 * 1.5  # PreConsumedQuota tokens at connect: 1875


async def turn(ws: object) -> list[dict[str, object]]:
    await send(ws, "response.create", response={"modalities": ["audio", "text"]})  # type: ignore[arg-type]
    return await events_until(ws, "response.done")  # type: ignore[arg-type]


async def test_each_response_is_billed_and_logged_with_hand_computed_quota(
    billed: Realtime,
) -> None:
    rt = billed
    user_id, client = await new_user(rt, "rt-payer", 1_000_000)
    try:
        token_id, key = await new_key(client, name="voice app")
        ws = await rt.connect(key, MODEL)
        try:
            await ws.recv()
            for _ in range(2):
                events = await turn(ws)
                audio = [e for e in events if e["type"] == "response.audio.delta"]
                assert len(audio) == 3
        finally:
            await ws.close()
        logs = await all_logs(rt, 2, token_name="voice app")
        assert len(logs) == 2
        request_ids = {log["request_id"] for log in logs}
        assert len(request_ids) == 1  # one session
        for log in logs:
            assert log["quota"] == PER_RESPONSE and log["model_name"] == MODEL
            assert log["prompt_tokens"] == 1000 and log["completion_tokens"] == 500
            other = log_other(log)
            assert other["realtime"] is True and other["cache_ratio"] == 0.5
            assert (other["audio_input"], other["cached_audio_input"]) == (600, 100)
            assert (other["text_output"], other["audio_output"]) == (100, 400)

        async def used() -> int:
            reply = await client.get("/api/user/self")
            return int(reply.data["used_quota"])

        assert await poll(used, lambda q: q == 2 * PER_RESPONSE) == 2 * PER_RESPONSE
        reply = await client.get("/api/user/self")
        assert reply.data["quota"] == 1_000_000 - 2 * PER_RESPONSE  # the float came back
        assert user_id
        assert token_id
    finally:
        await client.close()


async def test_quota_run_out_mid_session_sends_an_error_event_then_1008(billed: Realtime) -> None:
    rt = billed
    # float 1875 + two responses fit; the third does not.
    _, client = await new_user(rt, "rt-poor", int(FLOAT) + 2 * PER_RESPONSE + 10)
    try:
        _, key = await new_key(client, name="poor app")
        ws = await rt.connect(key, MODEL)
        await ws.recv()
        await turn(ws)
        await turn(ws)
        await turn(ws)  # delivered, billed against the float; then the session ends
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["type"] == "error"
        assert event["error"]["code"] == "insufficient_user_quota"
        assert "quota" in event["error"]["message"]
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1008
        logs = await all_logs(rt, 3, token_name="poor app")
        assert [log["quota"] for log in logs] == [PER_RESPONSE] * 3
        # a new session is refused before the upgrade, as a plain HTTP error
        with pytest.raises(InvalidStatus) as refused:
            await rt.connect(key, MODEL)
        assert refused.value.response.status_code == 403
        body = orjson.loads(refused.value.response.body)
        assert body["error"]["type"] == "insufficient_quota"
    finally:
        await client.close()


async def test_response_without_usage_is_billed_from_local_counts(rt: Realtime) -> None:
    model = "gpt-realtime-nousage"
    await priced(rt)  # group ratio 1.5
    await rt.price(model, 2)
    await rt.channel(key="sk-nousage-up", models=model, name="nousage")
    rt.fake.channel("sk-nousage-up", Scenario(text="twelve chars", chunks=3))
    rt.fake.realtime.script("sk-nousage-up", RealtimeScript(usage=False))
    key = await rt.key(name="nousage app")
    ws = await rt.connect(key, model)
    try:
        await ws.recv()
        await send(ws, "response.create")
        done = (await events_until(ws, "response.done"))[-1]
        assert "usage" not in done["response"]
    finally:
        await ws.close()
    (log,) = await all_logs(rt, 1, token_name="nousage app")
    assert log["completion_tokens"] > 0 and log["prompt_tokens"] == 0
    # model 2 x completion 2 (gpt-*) x group 1.5
    assert log["quota"] == round(log["completion_tokens"] * 2 * 2 * 1.5)
    assert log_other(log)["admin_info"]["local_count_tokens"] is True


async def test_caller_hanging_up_mid_response_cancels_it_upstream_and_bills_it(
    rt: Realtime,
) -> None:
    model = "gpt-realtime-hangup"
    await priced(rt)
    await rt.price(model, 2)
    await rt.channel(key="sk-hangup-up", models=model, name="hangup")
    slow = Scenario(
        text="x" * 50, chunks=50, chunk_delay=0.05, prompt_tokens=70, completion_tokens=30
    )
    rt.fake.channel("sk-hangup-up", slow)
    key = await rt.key(name="hangup app")
    ws = await rt.connect(key, model)
    await ws.recv()
    await send(ws, "response.create")
    await events_until(ws, "response.output_text.delta")
    await ws.close()  # hang up while the answer streams
    (log,) = await all_logs(rt, 1, token_name="hangup app")
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-hangup-up"]
    assert [e["type"] for e in session.client_events] == ["response.create", "response.cancel"]
    # the cancelled response's usage as upstream reported it: (70 + 30 x 2) x 2 x 1.5
    assert (log["prompt_tokens"], log["completion_tokens"]) == (70, 30)
    assert log["quota"] == 390


async def test_upstream_dropping_mid_response_bills_what_passed(rt: Realtime) -> None:
    model = "gpt-realtime-dropped"
    await priced(rt)
    await rt.price(model, 2)
    await rt.channel(key="sk-dropped-up", models=model, name="dropped")
    rt.fake.channel("sk-dropped-up", Scenario(text="abcdefghij" * 4, chunks=4))
    rt.fake.realtime.script(
        "sk-dropped-up", RealtimeScript(cut_after_deltas=2, close_code=1011, close_reason="oops")
    )
    key = await rt.key(name="dropped app")
    ws = await rt.connect(key, model)
    await ws.recv()
    await send(ws, "response.create")
    deltas = []
    with pytest.raises(ConnectionClosed):
        while True:
            event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            deltas += [event] if event["type"] == "response.output_text.delta" else []
    assert len(deltas) == 2 and (ws.close_code, ws.close_reason) == (1011, "oops")
    (log,) = await all_logs(rt, 1, token_name="dropped app")
    assert log["prompt_tokens"] == 0 and log["completion_tokens"] > 0
    assert log["quota"] == round(log["completion_tokens"] * 2 * 2 * 1.5)
    assert log_other(log)["admin_info"]["local_count_tokens"] is True


async def auto_session_logs(rt: Realtime, key: str, name: str) -> list[dict[str, object]]:
    ws = await rt.connect(key, MODEL)
    try:
        await ws.recv()
        await turn(ws)
    finally:
        await ws.close()
    return await all_logs(rt, 1, token_name=name)


async def test_an_auto_key_routes_through_its_auto_groups_and_bills_the_serving_group(
    billed: Realtime,
) -> None:
    rt = billed
    await rt.option("UserUsableGroups", {"default": "d", "vip": "v", "auto": "a"})
    await rt.option("AutoGroups", ["vip", "default"])
    await rt.option("RetryTimes", 3)
    await rt.channel(key="sk-rt-vip-fail-500", models=MODEL, group="vip", name="v")
    # Without cross-group retry the first serving group is the only one: its channel fails.
    _, key = await new_key(rt.root, name="auto first", group="auto")
    with pytest.raises(InvalidStatus):
        await rt.connect(key, MODEL)
    # With it, the session goes on to the default group (UP_KEY) and is billed at its 1.5.
    _, key = await new_key(rt.root, name="auto retry", group="auto", cross_group_retry=True)
    (log,) = await auto_session_logs(rt, key, "auto retry")
    assert log["group"] == "default" and log["quota"] == PER_RESPONSE
    # A vip channel that answers, above the failing one, serves the first group at vip's 1.
    await rt.channel(key="sk-rt-vip-ok", models=MODEL, group="vip", name="v2", priority=10)
    script = RealtimeScript(
        audio_chunks=3, audio_input_tokens=600, cached_audio_tokens=100, audio_output_tokens=400
    )
    rt.fake.realtime.script("sk-rt-vip-ok", script)
    usage = Scenario(prompt_tokens=1000, cached_tokens=300, completion_tokens=500)
    rt.fake.channel("sk-rt-vip-ok", usage)
    _, key = await new_key(rt.root, name="auto vip", group="auto")
    (log,) = await auto_session_logs(rt, key, "auto vip")
    assert log["group"] == "vip" and log["quota"] == PER_RESPONSE * 2 // 3
