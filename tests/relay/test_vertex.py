"""Vertex AI (channel type 41) end to end: a service-account key pasted as pretty-printed JSON,
OAuth tokens from the fake's token endpoint, Gemini and Claude publishers, express mode, the
channel test button, and what a refused key does to the caller and the channel."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import orjson
import pytest
from google.genai import errors as genai_errors
from google.genai import types

from bench.fakes import ToolCall
from bench.fakes.server import RecordedRequest
from tests.relay.conftest import Relay, poll
from tests.relay.test_gemini_callers import gemini_client

FLASH = "gemini-2.0-flash"  # ratio 0.05, completion ratio 4 (locked)
PRO = "gemini-2.5-pro"  # ratio 0.625, completion ratio 8; has its own region below
SONNET = "claude-sonnet-4-5-20250929"  # ratio 1.5, completion ratio 5
REGIONS = {"default": "us-central1", PRO: "europe-west4"}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def pasted(account: dict[str, str]) -> str:
    """A service-account key as an admin pastes it: the downloaded file, indented."""
    return orjson.dumps(account, option=orjson.OPT_INDENT_2).decode()


async def vertex_channel(relay: Relay, account: dict[str, str], **fields: Any) -> int:
    return await relay.channel(
        type=41,
        key=pasted(account),
        models=f"{FLASH},{PRO},{SONNET}",
        other=orjson.dumps(REGIONS).decode(),
        **fields,
    )


def bad_account(relay: Relay) -> dict[str, str]:
    """A well-formed key whose private key the token endpoint does not know (wrong signature)."""
    account = relay.fake.vertex.make_service_account(name="revoked")
    other = relay.fake.vertex.make_service_account(name="other")
    return {**account, "private_key": other["private_key"]}


def vertex_calls(relay: Relay) -> list[RecordedRequest]:
    return [r for r in relay.fake.requests if r.provider in ("vertex", "vertex-anthropic")]


def assert_oauth(sent: RecordedRequest, relay: Relay, account: dict[str, str]) -> None:
    token = sent.headers["Authorization"].removeprefix("Bearer ")
    assert relay.fake.vertex.identity(token) == account["client_email"]
    assert sent.headers["x-goog-user-project"] == account["project_id"] == sent.project
    assert "x-goog-api-key" not in sent.headers and "key" not in sent.query


async def _status(relay: Relay, channel_id: int) -> int:
    reply = await relay.root.get(f"/api/channel/{channel_id}")
    assert reply.success, reply.body
    return int(reply.data["status"])


async def test_genai_sdk_on_vertex_gemini_plain_and_stream(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account(project_id="acme-prod")
    await vertex_channel(relay, account)
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.chunks = "Hallo Welt!", 3
    scenario.prompt_tokens, scenario.completion_tokens, scenario.reasoning_tokens = 100, 30, 10
    client = gemini_client(relay, key)
    reply = await client.aio.models.generate_content(
        model=FLASH,
        contents="Say hello in German",
        config=types.GenerateContentConfig(system_instruction="Be terse.", max_output_tokens=64),
    )
    assert reply.text == "Hallo Welt!"
    assert reply.usage_metadata.prompt_token_count == 100
    assert reply.usage_metadata.thoughts_token_count == 10
    sent = relay.fake.last
    assert sent.provider == "vertex" and sent.publisher == "google"
    assert sent.path_params["method"] == "generateContent" and sent.model == FLASH
    assert sent.location == "us-central1"  # FLASH has no entry: the "default" region
    assert_oauth(sent, relay, account)
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "Be terse."
    assert sent.body["generationConfig"]["maxOutputTokens"] == 64

    scenario.prompt_tokens, scenario.completion_tokens, scenario.reasoning_tokens = 200, 50, 0
    pieces = []
    usage = None
    async for chunk in await client.aio.models.generate_content_stream(
        model=PRO, contents="Count to three"
    ):
        pieces.append(chunk.text or "")
        usage = chunk.usage_metadata or usage
    assert "".join(pieces) == "Hallo Welt!" and len([p for p in pieces if p]) == 3
    assert usage is not None and usage.candidates_token_count == 50
    sent = relay.fake.last
    assert sent.path_params["method"] == "streamGenerateContent" and sent.query["alt"] == "sse"
    assert sent.location == "europe-west4" and sent.model == PRO  # the model's own region
    assert_oauth(sent, relay, account)
    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # FLASH: (100 + (30 + 10 thoughts) * 4) * 0.05 = 13; PRO: (200 + 50 * 8) * 0.625 = 375
    assert [(log["model_name"], log["quota"]) for log in logs] == [(FLASH, 13), (PRO, 375)]
    assert [log["completion_tokens"] for log in logs] == [40, 50]
    assert [log["is_stream"] for log in logs] == [False, True]
    assert relay.fake.vertex.grants == 1  # one token for both calls


async def test_openai_sdk_on_vertex_gemini_with_tools(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account()
    await vertex_channel(relay, account)
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Sunny.", 60, 15
    reply = await relay.openai(key).chat.completions.create(
        model=FLASH,
        messages=[{"role": "system", "content": "brief"}, {"role": "user", "content": "hi"}],
        max_tokens=100,
    )
    assert reply.choices[0].message.content == "Sunny."
    assert reply.usage.prompt_tokens == 60 and reply.usage.completion_tokens == 15
    sent = relay.fake.last
    assert sent.provider == "vertex" and sent.path_params["method"] == "generateContent"
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "brief"
    assert_oauth(sent, relay, account)

    scenario.text = "Let me check."
    scenario.tool_calls = [ToolCall("get_weather", {"city": "Oslo"})]
    stream = await relay.openai(key).chat.completions.create(
        model=PRO,
        messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=[WEATHER],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, name, args, finish, usage = "", "", "", None, None
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                name += call.function.name or ""
                args += call.function.arguments or ""
            finish = choice.finish_reason or finish
    assert text == "Let me check." and name == "get_weather"
    assert orjson.loads(args) == {"city": "Oslo"} and finish == "tool_calls"
    assert usage is not None and usage.completion_tokens == 15
    sent = relay.fake.last
    assert sent.path_params["method"] == "streamGenerateContent"
    assert sent.location == "europe-west4"
    declared = sent.body["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"
    logs = sorted(await relay.logs(2), key=lambda log: log["id"])
    # (60 + 15 * 4) * 0.05 = 6; (60 + 15 * 8) * 0.625 = 112.5 -> 113
    assert [log["quota"] for log in logs] == [6, 113]


async def test_anthropic_and_openai_sdks_on_vertex_claude(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account(project_id="claude-proj")
    await vertex_channel(relay, account)
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text, scenario.prompt_tokens, scenario.completion_tokens = "Bonjour", 100, 20
    async with anthropic.AsyncAnthropic(
        base_url=relay.gateway.url, api_key=key, max_retries=0
    ) as claude:
        reply = await claude.messages.create(
            model=SONNET,
            max_tokens=200,
            system="French only",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"anthropic-beta": "context-1m-2025-08-07"},
        )
        assert reply.content[0].text == "Bonjour" and reply.usage.output_tokens == 20
        sent = relay.fake.last
        assert sent.provider == "vertex-anthropic" and sent.publisher == "anthropic"
        assert sent.path_params["model"] == "claude-sonnet-4-5@20250929"
        assert sent.path_params["method"] == "rawPredict" and sent.location == "us-central1"
        assert "model" not in sent.body and sent.body["anthropic_version"] == "vertex-2023-10-16"
        assert sent.body["system"] in ("French only", [{"type": "text", "text": "French only"}])
        assert sent.headers["anthropic-beta"] == "context-1m-2025-08-07"
        assert_oauth(sent, relay, account)
        text = ""
        async with claude.messages.stream(
            model=SONNET, max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            async for piece in stream.text_stream:
                text += piece
            final = await stream.get_final_message()
        assert text == "Bonjour" and final.usage.output_tokens == 20
        sent = relay.fake.last
        assert sent.path_params["method"] == "streamRawPredict" and "model" not in sent.body
    reply = await relay.openai(key).chat.completions.create(
        model=SONNET, messages=[{"role": "user", "content": "hi"}], max_tokens=50
    )
    assert reply.choices[0].message.content == "Bonjour"
    sent = relay.fake.last
    assert sent.provider == "vertex-anthropic" and sent.path_params["method"] == "rawPredict"
    assert sent.body["max_tokens"] == 50 and "model" not in sent.body
    logs = await relay.logs(3)
    # (100 + 20 * 5) * 1.5 = 300 each
    assert [log["quota"] for log in logs] == [300, 300, 300]
    assert relay.fake.vertex.grants == 1


async def test_token_cached_then_refreshed_near_expiry(relay: Relay) -> None:
    # 302 s tokens: refreshed 300 s before they expire, so one lives ~2 s in the cache.
    relay.fake.vertex.token_lifetime = 302
    account = relay.fake.vertex.make_service_account()
    await vertex_channel(relay, account)
    key = await relay.key()
    client = relay.openai(key)
    for _ in range(3):
        await client.chat.completions.create(
            model=FLASH, messages=[{"role": "user", "content": "hi"}]
        )
    assert relay.fake.vertex.grants == 1
    tokens = {r.headers["Authorization"] for r in vertex_calls(relay)}
    assert len(tokens) == 1
    await asyncio.sleep(2.5)
    await client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "hi"}])
    assert relay.fake.vertex.grants == 2
    assert relay.fake.last.headers["Authorization"] not in tokens
    assert_oauth(relay.fake.last, relay, account)


async def test_concurrent_calls_share_one_grant(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account()
    await vertex_channel(relay, account)
    client = relay.openai(await relay.key())
    await asyncio.gather(
        *(
            client.chat.completions.create(
                model=FLASH, messages=[{"role": "user", "content": "hi"}]
            )
            for _ in range(6)
        )
    )
    assert relay.fake.vertex.grants == 1 and len(vertex_calls(relay)) == 6


async def test_refused_key_is_a_clear_error_and_disables_the_channel(relay: Relay) -> None:
    account = bad_account(relay)
    channel_id = await vertex_channel(relay, account)
    key = await relay.key()
    with pytest.raises(openai.APIStatusError) as refused:
        await relay.openai(key).chat.completions.create(
            model=FLASH, messages=[{"role": "user", "content": "hi"}]
        )
    error = refused.value
    assert error.status_code == 401
    assert "token endpoint refused the service account" in error.message
    assert "Invalid JWT Signature" in error.message
    text = str(error.body) + error.message
    assert "PRIVATE KEY" not in text and account["private_key"][40:80] not in text
    assert account["private_key_id"] not in text
    assert not vertex_calls(relay)  # no model call without a token
    assert await _status(relay, channel_id) == 1  # switch off: the channel stays
    with pytest.raises(genai_errors.ClientError) as google:
        await gemini_client(relay, key).aio.models.generate_content(model=FLASH, contents="hi")
    assert google.value.code == 401 and "refused" in (google.value.message or "")

    # new-api: a 401 from the upstream's authentication (AutomaticDisableStatusCodes "401")
    # disables the channel; the key will not heal by itself.
    await relay.option("AutomaticDisableChannelEnabled", True)
    with pytest.raises(openai.APIStatusError):
        await relay.openai(key).chat.completions.create(
            model=FLASH, messages=[{"role": "user", "content": "hi"}]
        )
    assert await poll(lambda: _status(relay, channel_id), lambda s: s == 3) == 3
    channel = (await relay.root.get(f"/api/channel/{channel_id}")).data
    reason = orjson.loads(channel["other_info"] or "{}").get("status_reason", "")
    assert "refused" in reason and "PRIVATE KEY" not in reason
    with pytest.raises(openai.APIStatusError) as gone:
        await relay.openai(key).chat.completions.create(
            model=FLASH, messages=[{"role": "user", "content": "hi"}]
        )
    assert gone.value.status_code == 503


async def test_refused_key_fails_over_to_a_good_vertex_channel(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    await relay.option("RetryTimes", 1)  # a refused grant is a 401: retried like one
    bad = await vertex_channel(relay, bad_account(relay), priority=10)
    good_account = relay.fake.vertex.make_service_account(name="good")
    await vertex_channel(relay, good_account, priority=0)
    reply = await relay.openai(await relay.key()).chat.completions.create(
        model=FLASH, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content
    assert_oauth(relay.fake.last, relay, good_account)
    assert await poll(lambda: _status(relay, bad), lambda s: s == 3) == 3


async def test_api_key_mode_uses_express_mode(relay: Relay) -> None:
    await relay.channel(
        type=41,
        key="AQ.express-key-123",
        models=FLASH,
        other="us-east5",
        settings=orjson.dumps({"vertex_key_type": "api_key"}).decode(),
    )
    key = await relay.key()
    reply = await gemini_client(relay, key).aio.models.generate_content(model=FLASH, contents="hi")
    assert reply.text
    sent = relay.fake.last
    assert sent.provider == "vertex" and sent.project is None
    assert sent.path == f"/v1/publishers/google/models/{FLASH}:generateContent"
    assert sent.headers["x-goog-api-key"] == "AQ.express-key-123"
    assert "Authorization" not in sent.headers and "x-goog-user-project" not in sent.headers
    stream = await relay.openai(key).chat.completions.create(
        model=FLASH, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert relay.fake.last.path.endswith(":streamGenerateContent")
    assert relay.fake.vertex.grants == 0


async def test_channel_test_button(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account()
    vertex_id = await vertex_channel(relay, account)
    gemini_id = await relay.channel(type=24, key="AIza-gemini-up", models=FLASH)
    bad_id = await vertex_channel(relay, bad_account(relay))
    passed = await relay.root.get(f"/api/channel/test/{vertex_id}")
    assert passed.body["success"] is True, passed.body
    sent = relay.fake.last
    assert sent.provider == "vertex" and sent.model == FLASH and sent.location == "us-central1"
    assert_oauth(sent, relay, account)
    assert passed.body["usage"]["completion_tokens"] == relay.fake.scenario.completion_tokens
    claude = await relay.root.get(f"/api/channel/test/{vertex_id}", params={"model": SONNET})
    assert claude.body["success"] is True, claude.body
    assert relay.fake.last.provider == "vertex-anthropic"
    assert "model" not in relay.fake.last.body
    gemini = await relay.root.get(f"/api/channel/test/{gemini_id}")
    assert gemini.body["success"] is True, gemini.body
    sent = relay.fake.last
    assert sent.provider == "gemini" and sent.headers["x-goog-api-key"] == "AIza-gemini-up"
    calls = len(relay.fake.requests)
    failed = await relay.root.get(f"/api/channel/test/{bad_id}")
    assert failed.body["success"] is False
    assert "refused the service account" in failed.body["message"]
    assert "PRIVATE KEY" not in str(failed.body)
    assert len(relay.fake.requests) == calls  # no model call without a token


async def test_embeddings_on_vertex_refused_before_upstream(relay: Relay) -> None:
    account = relay.fake.vertex.make_service_account()
    await relay.channel(
        type=41,
        key=pasted(account),
        models="text-embedding-004",
        other="us-central1",
    )
    key = await relay.key()
    with pytest.raises(openai.APIStatusError) as refused:
        await relay.openai(key).embeddings.create(model="text-embedding-004", input="hello")
    # The request was wrong for this model (no upstream failed): 400, not a 502.
    assert refused.value.status_code == 400, refused.value
    assert "cannot serve embeddings" in refused.value.message
    assert refused.value.code == "unsupported_endpoint"
    with pytest.raises(genai_errors.APIError) as google:
        await gemini_client(relay, key).aio.models.embed_content(
            model="text-embedding-004", contents="hello"
        )
    assert google.value.code == refused.value.status_code
    assert relay.fake.requests == [] and relay.fake.vertex.grants == 0


async def test_revoked_cached_token_is_exchanged_again(relay: Relay) -> None:
    await relay.option("AutomaticDisableChannelEnabled", True)
    account = relay.fake.vertex.make_service_account()
    channel_id = await vertex_channel(relay, account)
    client = relay.openai(await relay.key())
    await client.chat.completions.create(model=FLASH, messages=[{"role": "user", "content": "a"}])
    relay.fake.vertex.expire_tokens()  # Google no longer takes the cached token
    reply = await client.chat.completions.create(
        model=FLASH, messages=[{"role": "user", "content": "b"}]
    )
    assert reply.choices[0].message.content
    assert relay.fake.vertex.grants == 2
    assert_oauth(relay.fake.last, relay, account)
    await asyncio.sleep(0.5)  # a disable would run in the background
    assert await _status(relay, channel_id) == 1
