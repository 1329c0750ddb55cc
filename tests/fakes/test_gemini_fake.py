"""The Gemini fake, driven by the google-genai SDK and read raw off the wire."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from google import genai
from google.genai import errors, types

from bench.fakes import FakeError, FakeProviders, Scenario, ToolCall, split_text
from bench.fakes.gemini import THOUGHT_SIGNATURE

KEY = "gemini-key"
MODEL = "gemini-2.5-flash"
GEMINI_3 = "gemini-3-pro-preview"
HEADERS = {"x-goog-api-key": KEY}
MakeClient = Callable[..., genai.Client]
CONTENTS: list[Any] = [{"role": "user", "parts": [{"text": "Say hello"}]}]


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as server:
        yield server


@pytest.fixture
async def sdk(fake: FakeProviders) -> AsyncIterator[MakeClient]:
    """Make google-genai clients aimed at the fake (closed after the test)."""
    made: list[genai.Client] = []

    def make(api_version: str = "v1beta", key: str = KEY) -> genai.Client:
        options = types.HttpOptions(
            base_url=fake.url,
            api_version=api_version,
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        made.append(genai.Client(api_key=key, http_options=options))
        return made[-1]

    yield make
    for client in made:
        await client.aio.aclose()


async def post(
    fake: FakeProviders, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """(status, Content-Type, raw body) of one POST."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.url + path, json=body, headers=HEADERS if headers is None else headers
        ) as resp,
    ):
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    """Parse Google's ``data: {json}\\r\\n\\r\\n`` framing strictly."""
    assert raw.endswith(b"\r\n\r\n")
    events = []
    for block in raw.split(b"\r\n\r\n")[:-1]:
        assert block.startswith(b"data: ")
        events.append(orjson.loads(block.removeprefix(b"data: ")))
    return events


@pytest.mark.parametrize("api_version", ["v1beta", "v1"])
async def test_generate_content_with_the_sdk(
    fake: FakeProviders, sdk: MakeClient, api_version: str
) -> None:
    fake.scenario = Scenario(text="Hi there", prompt_tokens=7, completion_tokens=3)
    client = sdk(api_version)
    reply = await client.aio.models.generate_content(model=MODEL, contents="Say hello")

    assert reply.text == "Hi there"
    candidate = reply.candidates[0]  # type: ignore[index]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.content.role == "model"  # type: ignore[union-attr]
    assert reply.model_version == MODEL
    assert reply.response_id
    usage = reply.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (7, 3)
    assert usage.total_token_count == 10
    assert usage.cached_content_token_count is None and usage.thoughts_token_count is None
    recorded = fake.last
    assert recorded.path == f"/{api_version}/models/{MODEL}:generateContent"
    assert (recorded.provider, recorded.api_key, recorded.model) == ("gemini", KEY, MODEL)
    assert recorded.json["contents"][0]["parts"] == [{"text": "Say hello"}]


async def test_key_in_the_query_and_usage_fields(fake: FakeProviders) -> None:
    fake.scenario = Scenario(
        prompt_tokens=100, completion_tokens=20, cached_tokens=60, reasoning_tokens=9
    )
    path = f"/v1beta/models/{MODEL}:generateContent?key=query-key"
    status, content_type, raw = await post(fake, path, {"contents": CONTENTS}, headers={})
    assert (status, content_type) == (200, "application/json")
    usage = orjson.loads(raw)["usageMetadata"]
    assert usage["promptTokenCount"] == 100
    assert usage["candidatesTokenCount"] == 20
    assert usage["cachedContentTokenCount"] == 60
    assert usage["thoughtsTokenCount"] == 9
    assert usage["totalTokenCount"] == 129  # thoughts are counted beside the candidates
    assert usage["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": 100}]
    assert fake.last.api_key == "query-key"


async def test_sse_stream_on_the_wire(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3, prompt_tokens=5, completion_tokens=6)
    path = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    status, content_type, raw = await post(fake, path, {"contents": CONTENTS})
    assert status == 200 and content_type.startswith("text/event-stream")
    events = sse_events(raw)

    texts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in events]
    assert texts == [*split_text("abcdef", 3), ""]
    assert all(e["usageMetadata"]["promptTokenCount"] == 5 for e in events)
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert all("candidatesTokenCount" not in e["usageMetadata"] for e in events[:-1])
    last = events[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["candidatesTokenCount"] == 6
    assert last["usageMetadata"]["totalTokenCount"] == 11
    assert len({e["responseId"] for e in events}) == 1


async def test_json_array_stream_arrives_element_by_element(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcd", chunks=2, chunk_delay=0.2)
    path = f"/v1/models/{MODEL}:streamGenerateContent"
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + path, json={"contents": CONTENTS}, headers=HEADERS) as resp,
    ):
        assert resp.headers["Content-Type"] == "application/json"
        first = await resp.content.readany()
        first_at = time.monotonic() - started
        raw = first + await resp.read()
    assert first.startswith(b"[{")
    assert first_at < 0.35  # the first element came before the second was written
    assert raw.count(b"\n,\r\n") == 2 and raw.endswith(b"\n]")
    elements = orjson.loads(raw)
    parts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in elements]
    assert parts == ["ab", "cd", ""]
    assert elements[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_first_chunk_delay_starts_the_stream_at_once(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcd", chunks=2, chunk_delay=0.3, first_chunk_delay=0)
    path = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    started = time.monotonic()
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + path, json={"contents": CONTENTS}, headers=HEADERS) as resp,
    ):
        first = await resp.content.readuntil(b"\r\n\r\n")
        first_at = time.monotonic() - started
        await resp.read()
        whole = time.monotonic() - started
    assert b'"text":"ab"' in first
    assert first_at < 0.25  # no chunk_delay before the first content chunk
    assert whole >= 0.3  # but still before the second


async def test_stream_with_the_sdk(fake: FakeProviders, sdk: MakeClient) -> None:
    fake.scenario = Scenario(text="Hello world!", chunks=4, completion_tokens=4)
    client = sdk()
    texts, last = [], None
    async for chunk in await client.aio.models.generate_content_stream(model=MODEL, contents="hi"):
        texts.append(chunk.text or "")
        last = chunk
    assert "".join(texts) == "Hello world!"
    assert texts[:4] == split_text("Hello world!", 4)
    assert last is not None and last.usage_metadata is not None
    assert last.usage_metadata.candidates_token_count == 4
    assert fake.last.query == {"alt": "sse"}


async def test_thoughts_only_when_asked_for(fake: FakeProviders, sdk: MakeClient) -> None:
    fake.scenario = Scenario(text="Answer", thinking="Let me think.", reasoning_tokens=12)
    client = sdk()
    plain = await client.aio.models.generate_content(model=MODEL, contents="q")
    parts = plain.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert [(p.text, p.thought) for p in parts] == [("Answer", None)]  # type: ignore[union-attr]
    assert plain.usage_metadata.thoughts_token_count == 12  # type: ignore[union-attr]

    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)
    )
    reply = await client.aio.models.generate_content(model=MODEL, contents="q", config=config)
    parts = reply.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert [(p.text, p.thought) for p in parts] == [  # type: ignore[union-attr]
        ("Let me think.", True),
        ("Answer", None),
    ]
    body = {"contents": CONTENTS, "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}
    _, _, raw = await post(fake, f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", body)
    first_parts = [e["candidates"][0]["content"]["parts"] for e in sse_events(raw)]
    assert first_parts[0] == [{"text": split_text("Let me think.", 3)[0], "thought": True}]
    assert sum(p[0].get("thought", False) for p in first_parts) == 3


def weather_calls() -> list[ToolCall]:
    return [ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"})]


async def test_parallel_function_calls_and_signatures(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="", tool_calls=weather_calls())
    status, _, raw = await post(
        fake, f"/v1beta/models/{MODEL}:generateContent", {"contents": CONTENTS}
    )
    parts = orjson.loads(raw)["candidates"][0]["content"]["parts"]
    assert status == 200
    assert parts == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
    ]

    path = f"/v1beta/models/{GEMINI_3}:streamGenerateContent?alt=sse"
    _, _, raw = await post(fake, path, {"contents": CONTENTS})
    events = sse_events(raw)
    assert len(events) == 2  # all parallel calls in one chunk, then the finish
    parts = events[0]["candidates"][0]["content"]["parts"]
    assert [p["functionCall"]["args"]["city"] for p in parts] == ["Paris", "Rome"]
    # Gemini 3 signs the first of parallel calls only
    assert parts[0]["thoughtSignature"] == THOUGHT_SIGNATURE
    assert "thoughtSignature" not in parts[1]
    assert base64.b64decode(THOUGHT_SIGNATURE, validate=True)
    assert events[1]["candidates"][0]["finishReason"] == "STOP"


def history(signature: str | None) -> list[dict[str, Any]]:
    call: dict[str, Any] = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    if signature is not None:
        call["thoughtSignature"] = signature
    answer = {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}
    return [*CONTENTS, {"role": "model", "parts": [call]}, {"role": "user", "parts": [answer]}]


async def test_gemini_3_refuses_history_without_signature(fake: FakeProviders) -> None:
    path = f"/v1beta/models/{GEMINI_3}:generateContent"
    status, _, raw = await post(fake, path, {"contents": history(None)})
    assert status == 400
    error = orjson.loads(raw)["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"].startswith(
        "Function call is missing a thought_signature in functionCall parts."
    )
    assert "`default_api:get_weather`" in error["message"]

    assert (await post(fake, path, {"contents": history(THOUGHT_SIGNATURE)}))[0] == 200
    # an older turn (before the last user text) is not checked; older models never check
    older = [*history(None), {"role": "model", "parts": [{"text": "21"}]}, *CONTENTS]
    assert (await post(fake, path, {"contents": older}))[0] == 200
    assert (
        await post(fake, f"/v1beta/models/{MODEL}:generateContent", {"contents": history(None)})
    )[0] == 200


async def test_sdk_round_trip_keeps_the_signature(fake: FakeProviders, sdk: MakeClient) -> None:
    fake.scenario = Scenario(text="", tool_calls=[ToolCall("get_weather", {"city": "Paris"})])
    client = sdk()
    tool = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="get_weather", description="w")]
    )
    config = types.GenerateContentConfig(
        tools=[tool],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="weather?")])]
    reply = await client.aio.models.generate_content(
        model=GEMINI_3, contents=contents, config=config
    )
    call = reply.function_calls[0]  # type: ignore[index]
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    contents.append(reply.candidates[0].content)  # type: ignore[index]
    contents.append(
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="get_weather", response={"t": 21})],
        )
    )
    fake.scenario = Scenario(text="It is 21 degrees.")
    final = await client.aio.models.generate_content(
        model=GEMINI_3, contents=contents, config=config
    )
    assert final.text == "It is 21 degrees."
    sent = fake.last.json["contents"][1]["parts"][0]
    assert sent["thoughtSignature"] == THOUGHT_SIGNATURE


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "* GenerateContentRequest.contents: contents is not specified\n"),
        (
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            "Please use a valid role: user, model.",
        ),
        ({"contents": [{"role": "user", "parts": []}]}, "contents.parts must not be empty"),
        (
            {"contents": CONTENTS, "generationConfig": {"temperature": "hot"}},
            "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
        ),
        (
            {"contents": CONTENTS, "generationConfig": {"maxOutputTokens": 1.5}},
            "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), 1.5",
        ),
        (
            {"contents": CONTENTS, "generationConfig": {"max_tokens": 10}},
            "Unknown name \"max_tokens\" at 'generation_config': Cannot find field.",
        ),
        (
            {
                "contents": CONTENTS,
                "generationConfig": {"thinkingConfig": {"includeThoughts": "yes"}},
            },
            "Invalid value at 'generation_config.thinking_config.include_thoughts' (TYPE_BOOL)",
        ),
    ],
)
async def test_request_validation(fake: FakeProviders, body: Any, message: str) -> None:
    status, _, raw = await post(fake, f"/v1beta/models/{MODEL}:generateContent", body)
    error = orjson.loads(raw)["error"]
    assert (status, error["code"], error["status"]) == (400, 400, "INVALID_ARGUMENT")
    assert message in error["message"]


async def test_proto_json_spellings_are_accepted(fake: FakeProviders) -> None:
    body = {
        "contents": CONTENTS,
        "generation_config": {"max_output_tokens": "64", "temperature": 0.2, "topK": 40},
    }
    status, _, raw = await post(fake, f"/v1beta/models/{MODEL}:generateContent", body)
    assert status == 200, raw


async def test_errors_in_googles_shape(fake: FakeProviders, sdk: MakeClient) -> None:
    status, _, raw = await post(
        fake, f"/v1beta/models/{MODEL}:generateContent", {"contents": CONTENTS}, headers={}
    )
    assert status == 403
    assert orjson.loads(raw)["error"]["status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in orjson.loads(raw)["error"]["message"]

    with pytest.raises(errors.ClientError) as caught:
        await sdk(key="key-fail-429").aio.models.generate_content(model=MODEL, contents="x")
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")

    fake.scenario.error = FakeError(503, times=1)
    with pytest.raises(errors.ServerError) as server_error:
        await sdk().aio.models.generate_content(model=MODEL, contents="x")
    assert (server_error.value.code, server_error.value.status) == (503, "UNAVAILABLE")
    assert server_error.value.message == "The model is overloaded. Please try again later."
    reply = await sdk().aio.models.generate_content(model=MODEL, contents="x")
    assert reply.text == Scenario.text

    fake.scenario.error = FakeError(404)
    status, _, raw = await post(fake, "/v1beta/models/nope:generateContent", {"contents": CONTENTS})
    error = orjson.loads(raw)["error"]
    assert (status, error["status"]) == (404, "NOT_FOUND")
    assert error["message"].startswith("models/nope is not found for API version v1beta")


async def test_in_stream_errors(fake: FakeProviders) -> None:
    fake.scenario = Scenario(text="abcdef", chunks=3, error=FakeError(500, after_chunks=1))
    path = f"/v1beta/models/{MODEL}:streamGenerateContent"
    status, _, raw = await post(fake, path + "?alt=sse", {"contents": CONTENTS})
    events = sse_events(raw)
    assert status == 200 and len(events) == 2
    assert events[0]["candidates"][0]["content"]["parts"] == [{"text": "ab"}]
    assert events[1] == {
        "error": {
            "code": 500,
            "message": "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
            "status": "INTERNAL",
        }
    }
    _, _, raw = await post(fake, path, {"contents": CONTENTS})
    elements = orjson.loads(raw)  # still a well-formed array, the error as its last element
    assert [list(e) for e in elements][-1] == ["error"] and len(elements) == 2

    fake.scenario.error = FakeError(503, after_chunks=0)
    _, _, raw = await post(fake, path, {"contents": CONTENTS})
    assert [e["error"]["status"] for e in orjson.loads(raw)] == ["UNAVAILABLE"]


async def test_count_tokens_and_embeddings(fake: FakeProviders, sdk: MakeClient) -> None:
    fake.scenario = Scenario(prompt_tokens=42, cached_tokens=2)
    client = sdk()
    counted = await client.aio.models.count_tokens(model=MODEL, contents="count me")
    assert counted.total_tokens == 42
    assert counted.cached_content_token_count == 2

    embedded = await client.aio.models.embed_content(
        model="gemini-embedding-001",
        contents=["one", "two"],
        config=types.EmbedContentConfig(output_dimensionality=16),
    )
    vectors = [e.values for e in embedded.embeddings]  # type: ignore[union-attr]
    assert [len(v) for v in vectors] == [16, 16]  # type: ignore[arg-type]
    assert vectors[0] != vectors[1]
    assert fake.last.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"

    body = {"content": {"parts": [{"text": "one"}]}}
    status, _, raw = await post(fake, "/v1beta/models/text-embedding-004:embedContent", body)
    single = orjson.loads(raw)["embedding"]["values"]
    assert status == 200 and len(single) == 768
    status, _, raw = await post(fake, "/v1beta/models/text-embedding-004:embedContent", {})
    assert status == 400 and "content is not specified" in orjson.loads(raw)["error"]["message"]


async def test_models_list_pages_and_get(fake: FakeProviders, sdk: MakeClient) -> None:
    fake.scenario.gemini_models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001")
    client = sdk()
    pager = await client.aio.models.list(config=types.ListModelsConfig(page_size=2))
    names = [model.name async for model in pager]
    assert names == [
        "models/gemini-2.5-flash",
        "models/gemini-2.5-pro",
        "models/gemini-embedding-001",
    ]
    assert [r.query.get("pageSize") for r in fake.requests] == ["2", "2"]
    assert "pageToken" in fake.last.query

    model = await client.aio.models.get(model="gemini-2.5-pro")
    assert model.name == "models/gemini-2.5-pro"
    assert model.input_token_limit and model.output_token_limit
    assert "generateContent" in (model.supported_actions or [])

    async with aiohttp.ClientSession() as session:
        async with session.get(fake.url + "/v1/models", headers=HEADERS) as resp:
            listed = await resp.json()
        assert listed["models"][0]["supportedGenerationMethods"][0] == "generateContent"
        assert "nextPageToken" not in listed
        async with session.get(fake.url + "/v1beta/models/nope", headers=HEADERS) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["status"] == "NOT_FOUND"
        openai_style = {"Authorization": "Bearer sk-x"}
        async with session.get(fake.url + "/v1/models", headers=openai_style) as resp:
            assert (await resp.json())["object"] == "list"
