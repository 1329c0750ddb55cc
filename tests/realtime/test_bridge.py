"""``/v1/realtime`` end to end through Hypercorn: SDK and raw callers, OpenAI and Azure paths."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import pytest
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.fakes import RealtimeScript, Scenario
from tests.realtime.conftest import Realtime, events_until, kinds, send
from tests.relay.conftest import poll

AZURE = 3
AZURE_KEY = "azure-key-0123456789abcdef"


def sdk(rt: Realtime, key: str) -> AsyncOpenAI:
    # websocket_base_url: the beta client would otherwise always dial wss://.
    return AsyncOpenAI(
        base_url=rt.gateway.url + "/v1",
        websocket_base_url=rt.ws_url.removesuffix("/realtime"),
        api_key=key,
        max_retries=0,
    )


async def test_sdk_ga_session_two_turns_reach_openai_without_beta_header(rt: Realtime) -> None:
    await rt.channel(key="sk-ga-up", models="gpt-realtime", name="ga")
    rt.fake.channel("sk-ga-up", Scenario(text="Hello from GA realtime", chunks=4))
    key = await rt.key()
    async with sdk(rt, key).realtime.connect(model="gpt-realtime") as conn:
        created = await conn.recv()
        assert created.type == "session.created"
        for turn in range(2):
            await conn.conversation.item.create(
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"turn {turn}"}],
                }
            )
            await conn.response.create()
            texts: list[str] = []
            async for event in conn:
                if event.type == "response.output_text.delta":
                    texts.append(event.delta)
                if event.type == "response.done":
                    break
            assert "".join(texts) == "Hello from GA realtime" and len(texts) == 4
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-ga-up"]
    assert session.path == "/v1/realtime" and session.query == {"model": "gpt-realtime"}
    assert session.headers["authorization"] == "Bearer sk-ga-up"
    assert "openai-beta" not in session.headers and not session.beta
    sent = [event["type"] for event in session.client_events]
    assert sent == ["conversation.item.create", "response.create"] * 2


async def test_sdk_beta_session_gets_beta_header_and_beta_event_names(rt: Realtime) -> None:
    await rt.channel(key="sk-beta-up", models="gpt-4o-realtime-preview", name="beta")
    rt.fake.channel("sk-beta-up", Scenario(text="beta says hi", chunks=2))
    key = await rt.key()
    async with sdk(rt, key).beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        assert (await conn.recv()).type == "session.created"
        await conn.session.update(session={"modalities": ["text"], "instructions": "be brief"})
        assert (await conn.recv()).type == "session.updated"
        await conn.response.create()
        texts = []
        async for event in conn:
            if event.type == "response.text.delta":
                texts.append(event.delta)
            if event.type == "response.done":
                break
    assert "".join(texts) == "beta says hi"
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-beta-up"]
    assert session.headers["openai-beta"] == "realtime=v1" and session.beta


async def test_ga_model_never_gets_the_beta_header_even_when_the_caller_sends_it(
    rt: Realtime,
) -> None:
    # The fake (like OpenAI) closes a GA session opened with the beta header.
    await rt.channel(key="sk-ga2-up", models="gpt-realtime-mini", name="ga2")
    key = await rt.key()
    async with sdk(rt, key).beta.realtime.connect(model="gpt-realtime-mini") as conn:
        assert (await conn.recv()).type == "session.created"
        await conn.response.create()
        async for event in conn:
            if event.type == "response.done":
                break
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-ga2-up"]
    assert "openai-beta" not in session.headers


async def test_raw_client_with_subprotocol_key_binary_frames_and_model_mapping(
    rt: Realtime,
) -> None:
    mapping = orjson.dumps({"gpt-realtime-alias": "gpt-realtime-2025-08-28"}).decode()
    await rt.price("gpt-realtime-alias", 2)
    await rt.channel(
        key="sk-map-up", models="gpt-realtime-alias", name="map", model_mapping=mapping
    )
    key = await rt.key()
    protocols = ["realtime", f"openai-insecure-api-key.{key}"]
    ws = await rt.connect(key, "gpt-realtime-alias", protocols=protocols)
    try:
        assert ws.subprotocol == "realtime"
        # The client offered permessage-deflate; the gateway declines it (hypercorn_seam.py).
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        assert ws.response.headers["X-Oneapi-Request-Id"]
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        audio = bytes(range(256)) * 64
        await ws.send(audio)
        assert await ws.recv() == audio  # binary in, binary out, byte for byte
        await send(ws, "response.create")
        events = await events_until(ws, "response.done")
        assert kinds(events)[0] == "response.created"
    finally:
        await ws.close()
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-map-up"]
    assert session.query == {"model": "gpt-realtime-2025-08-28"}
    assert session.subprotocols == ("realtime",)  # the caller's key never goes upstream
    assert session.binary_frames == [audio]


@pytest.mark.parametrize(
    ("other", "path", "query"),
    [
        (
            "2025-04-01-preview",
            "/openai/realtime",
            {"api-version": "2025-04-01-preview", "deployment": "gpt-4o-realtime-preview"},
        ),
        ("v1", "/openai/v1/realtime", {"model": "gpt-4o-realtime-preview"}),
    ],
)
async def test_azure_preview_and_ga_paths(
    rt: Realtime, other: str, path: str, query: dict[str, str]
) -> None:
    model = f"az-{other}"
    await rt.price(model, 2.5)
    mapping = orjson.dumps({model: "gpt-4o-realtime-preview"}).decode()
    azure_key = f"{AZURE_KEY}-{other}"
    await rt.channel(
        type=AZURE, key=azure_key, models=model, other=other, model_mapping=mapping, name="az"
    )
    rt.fake.channel(azure_key, Scenario(text="azure speaking"))
    key = await rt.key()
    ws = await rt.connect(key, model)
    try:
        assert orjson.loads(await ws.recv())["type"] == "session.created"
        await send(ws, "response.create")
        events = await events_until(ws, "response.done")
    finally:
        await ws.close()
    preview = path == "/openai/realtime"
    delta = "response.text.delta" if preview else "response.output_text.delta"
    assert "".join(e["delta"] for e in events if e["type"] == delta) == "azure speaking"
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == azure_key]
    assert session.path == path and session.query == query
    assert session.headers["api-key"] == azure_key and "authorization" not in session.headers


async def test_refusals_are_plain_http_errors_before_the_upgrade(rt: Realtime) -> None:
    key = await rt.key()
    cases = [
        ("sk-not-a-key", "gpt-realtime", 401, "invalid_api_key"),
        (key, "no-such-realtime-model", 503, "model_not_found"),
    ]
    await rt.price("no-such-realtime-model", 1)
    for caller_key, model, status, code in cases:
        with pytest.raises(InvalidStatus) as refused:
            await rt.connect(caller_key, model)
        response = refused.value.response
        assert response.status_code == status
        assert orjson.loads(response.body)["error"]["code"] == code
    with pytest.raises(InvalidStatus) as refused:
        await rt.connect(key, "")
    assert refused.value.response.status_code == 400


async def test_failover_when_the_upstream_handshake_fails(rt: Realtime) -> None:
    await rt.price("gpt-realtime-fo", 2)
    await rt.option("RetryTimes", "1")
    bad = await rt.channel(key="sk-fail-500-rt", models="gpt-realtime-fo", priority=10)
    good = await rt.channel(key="sk-good-rt", models="gpt-realtime-fo", priority=0)
    key = await rt.key()
    ws = await rt.connect(key, "gpt-realtime-fo")
    try:
        assert orjson.loads(await ws.recv())["type"] == "session.created"
    finally:
        await ws.close()
    tried = [s.api_key for s in rt.fake.realtime.handshakes if s.model == "gpt-realtime-fo"]
    assert tried == ["sk-fail-500-rt", "sk-good-rt"]
    assert bad != good
    logged = rt.gateway.log_text()
    assert "refused the realtime handshake" in logged  # the failover was noted...
    assert "sk-fail-500-rt" not in logged and key.removeprefix("sk-") not in logged  # no keys


async def test_upstream_close_code_and_reason_reach_the_caller(rt: Realtime) -> None:
    await rt.price("gpt-realtime-close", 2)
    await rt.channel(key="sk-close-up", models="gpt-realtime-close")
    rt.fake.realtime.script(
        "sk-close-up",
        RealtimeScript(close_after_responses=1, close_code=4001, close_reason="upstream bye"),
    )
    key = await rt.key()
    ws = await rt.connect(key, "gpt-realtime-close")
    await ws.recv()
    await send(ws, "response.create")
    await events_until(ws, "response.done")
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4001 and ws.close_reason == "upstream bye"


async def test_caller_close_closes_the_upstream(rt: Realtime) -> None:
    await rt.price("gpt-realtime-cc", 2)
    await rt.channel(key="sk-cc-up", models="gpt-realtime-cc")
    key = await rt.key()
    ws = await rt.connect(key, "gpt-realtime-cc")
    await ws.recv()
    await ws.close(4002, "caller bye")
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == "sk-cc-up"]

    async def closed() -> list[tuple[int, str]]:
        return session.closed

    assert await poll(closed, bool) == [(4002, "caller bye")]


async def test_idle_session_gets_an_error_event_then_a_close(rt: Realtime) -> None:
    await rt.price("gpt-realtime-idle", 2)
    await rt.channel(key="sk-idle-up", models="gpt-realtime-idle")
    await rt.option("RealtimeIdleTimeoutSeconds", "0.5")
    try:
        key = await rt.key()
        ws = await rt.connect(key, "gpt-realtime-idle")
        await ws.recv()
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["type"] == "error"
        assert event["error"]["code"] == "session_idle_timeout"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1000 and ws.close_reason == "session_idle_timeout"
    finally:
        await rt.option("RealtimeIdleTimeoutSeconds", "300")


async def test_max_session_length_ends_a_busy_session(rt: Realtime) -> None:
    await rt.price("gpt-realtime-long", 2)
    await rt.channel(key="sk-long-up", models="gpt-realtime-long")
    await rt.option("RealtimeMaxSessionSeconds", "1")
    try:
        key = await rt.key()
        ws = await rt.connect(key, "gpt-realtime-long")
        await ws.recv()
        started = asyncio.get_running_loop().time()
        seen: list[dict[str, object]] = []

        async def read() -> None:
            async for message in ws:  # a real caller reads all the time
                if isinstance(message, str):
                    seen.append(orjson.loads(message))

        reader = asyncio.ensure_future(read())
        with contextlib.suppress(ConnectionClosed):
            while True:  # busy all along: the idle timeout never fires
                await ws.send(b"keep-alive")
                await asyncio.sleep(0.05)
        elapsed = asyncio.get_running_loop().time() - started
        await asyncio.wait_for(reader, 5)
        assert 0.8 < elapsed < 4
        assert seen[-1]["type"] == "error"
        assert seen[-1]["error"]["code"] == "session_max_duration"  # type: ignore[index]
        assert ws.close_code == 1000 and ws.close_reason == "session_max_duration"
    finally:
        await rt.option("RealtimeMaxSessionSeconds", "3600")


async def test_caller_pings_are_answered_through_the_bridge(rt: Realtime) -> None:
    await rt.price("gpt-realtime-ping", 2)
    await rt.channel(key="sk-ping-up", models="gpt-realtime-ping")
    key = await rt.key()
    ws = await rt.connect(key, "gpt-realtime-ping")
    try:
        await ws.recv()
        latency = await asyncio.wait_for(await ws.ping(), 5)
        assert latency >= 0
        await send(ws, "response.create")  # the session still works after the ping
        assert (await events_until(ws, "response.done"))[-1]["type"] == "response.done"
    finally:
        await ws.close()
