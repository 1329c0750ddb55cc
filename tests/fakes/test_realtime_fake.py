"""The fake realtime upstream on its own: beta and GA shapes, Azure paths, scripted sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from bench.fakes import FakeError, FakeProviders, RealtimeScript, Scenario, ToolCall


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as providers:
        yield providers


def ws_url(fake: FakeProviders, path: str) -> str:
    return fake.url.replace("http://", "ws://") + path


async def open_ws(
    fake: FakeProviders, path: str, headers: dict[str, str], protocols: list[str] | None = None
) -> ClientConnection:
    return await connect(
        ws_url(fake, path),
        additional_headers=headers,
        subprotocols=[Subprotocol(p) for p in protocols] if protocols else None,
        max_size=None,
    )


async def until(ws: ClientConnection, last: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        seen.append(orjson.loads(await ws.recv()))
        if seen[-1]["type"] == last:
            return seen


async def respond(ws: ClientConnection, **response: Any) -> list[dict[str, Any]]:
    await ws.send(orjson.dumps({"type": "response.create", "response": response}).decode())
    return await until(ws, "response.done")


BEARER = {"Authorization": "Bearer sk-x"}


async def test_ga_text_session_with_usage(fake: FakeProviders) -> None:
    fake.scenario.text, fake.scenario.chunks = "abcdef", 3
    ws = await open_ws(fake, "/v1/realtime?model=gpt-realtime", BEARER)
    created = orjson.loads(await ws.recv())
    assert created["type"] == "session.created" and created["session"]["type"] == "realtime"
    events = await respond(ws)
    names = [e["type"] for e in events]
    assert names == ["response.created"] + ["response.output_text.delta"] * 3 + [
        "response.output_text.done",
        "response.done",
    ]
    usage = events[-1]["response"]["usage"]
    assert usage["input_tokens"] == 10 and usage["output_tokens"] == 20
    await ws.close()
    (session,) = fake.realtime.sessions
    assert not session.beta and session.api_key == "sk-x"


async def test_beta_audio_tool_calls_and_usage_split(fake: FakeProviders) -> None:
    fake.scenario.tool_calls = [ToolCall("lookup", {"q": "x"}, pieces=2)]
    fake.scenario.prompt_tokens, fake.scenario.cached_tokens = 100, 30
    fake.realtime.default = RealtimeScript(
        audio_chunks=2,
        audio_chunk_bytes=6,
        audio_input_tokens=40,
        cached_audio_tokens=10,
        audio_output_tokens=15,
    )
    headers = {**BEARER, "OpenAI-Beta": "realtime=v1"}
    ws = await open_ws(fake, "/v1/realtime?model=gpt-4o-realtime-preview", headers)
    await ws.recv()
    events = await respond(ws, modalities=["audio", "text"])
    names = [e["type"] for e in events]
    assert names.count("response.audio.delta") == 2
    assert "response.audio_transcript.delta" in names
    assert names.count("response.function_call_arguments.delta") == 2
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert done["name"] == "lookup" and orjson.loads(done["arguments"]) == {"q": "x"}
    details = events[-1]["response"]["usage"]["input_token_details"]
    assert details == {
        "cached_tokens": 30,
        "text_tokens": 60,
        "audio_tokens": 40,
        "cached_tokens_details": {"text_tokens": 20, "audio_tokens": 10},
    }
    await ws.close()


async def test_ga_model_with_beta_header_is_closed_1008(fake: FakeProviders) -> None:
    headers = {**BEARER, "OpenAI-Beta": "realtime=v1"}
    ws = await open_ws(fake, "/v1/realtime?model=gpt-realtime", headers)
    assert orjson.loads(await ws.recv())["type"] == "error"
    with pytest.raises(ConnectionClosed):
        await ws.recv()
    assert ws.close_code == 1008


async def test_azure_paths_and_handshake_errors(fake: FakeProviders) -> None:
    azure = {"api-key": "az-key"}
    ws = await open_ws(fake, "/openai/realtime?api-version=2025-04-01-preview&deployment=d", azure)
    await ws.recv()
    assert [e["type"] for e in await respond(ws)][1] == "response.text.delta"  # preview = beta
    await ws.close()
    ws = await open_ws(fake, "/openai/v1/realtime?model=d", azure)
    await ws.recv()
    assert [e["type"] for e in await respond(ws)][1] == "response.output_text.delta"
    await ws.close()
    for path, headers, status in [
        ("/openai/realtime?deployment=d", azure, 404),
        ("/v1/realtime?model=m", {}, 401),
        ("/v1/realtime", BEARER, 400),
    ]:
        with pytest.raises(InvalidStatus) as refused:
            await open_ws(fake, path, headers)
        assert refused.value.response.status_code == status
    fake.channel("sk-down", Scenario(error=FakeError(503, times=1)))
    with pytest.raises(InvalidStatus) as refused:
        await open_ws(fake, "/v1/realtime?model=m", {"Authorization": "Bearer sk-down"})
    assert refused.value.response.status_code == 503
    assert len(fake.realtime.handshakes) == 6 and len(fake.realtime.sessions) == 2


async def test_subprotocol_key_error_event_and_upstream_close(fake: FakeProviders) -> None:
    fake.realtime.script(
        "sk-sub",
        RealtimeScript(
            error_event=FakeError(500, times=1),
            close_after_responses=1,
            close_code=4009,
            close_reason="scripted",
        ),
    )
    protocols = ["realtime", "openai-insecure-api-key.sk-sub"]
    ws = await open_ws(fake, "/v1/realtime?model=m", {}, protocols)
    assert ws.subprotocol == "realtime"
    await ws.recv()
    await ws.send(orjson.dumps({"type": "response.create"}).decode())
    error = orjson.loads(await ws.recv())
    assert error["type"] == "error" and error["error"]["type"] == "server_error"
    await respond(ws)
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert (ws.close_code, ws.close_reason) == (4009, "scripted")


async def test_ephemeral_key_endpoints(fake: FakeProviders) -> None:
    async with aiohttp.ClientSession(headers=BEARER) as http:
        async with http.post(fake.url + "/v1/realtime/sessions", json={"model": "m"}) as resp:
            body = await resp.json()
            assert body["client_secret"]["value"].startswith("ek_") and body["model"] == "m"
        session = {"session": {"type": "realtime", "model": "gpt-realtime"}}
        async with http.post(fake.url + "/v1/realtime/client_secrets", json=session) as resp:
            body = await resp.json()
            assert body["value"].startswith("ek_") and body["session"]["model"] == "gpt-realtime"
