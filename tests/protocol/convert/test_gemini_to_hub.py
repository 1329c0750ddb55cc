"""Gemini -> hub (OpenAI chat): requests from Gemini callers, answers and streams from Gemini
channels. Expected values are written out by hand; produced chunks must also parse as the
OpenAI SDK's types, and the SDK's own accumulator must agree with the non-stream conversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from newapi.protocol.convert import (
    GeminiStreamToChat,
    StreamError,
    gemini_response_to_chat,
    generate_request_to_chat,
)

GOLDEN = Path(__file__).parent / "golden"
REQUESTS = sorted(path.stem for path in GOLDEN.glob("gemini_to_hub_request_*.json"))
RESPONSES = sorted(path.stem for path in GOLDEN.glob("gemini_to_hub_response_*.json"))
STREAMS = sorted(path.stem for path in GOLDEN.glob("gemini_to_hub_stream_*.json"))
CREATED = 1700000000


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("name", REQUESTS)
def test_request_golden(name: str) -> None:
    case = _golden(name)
    request = generate_request_to_chat(
        case["in"], upstream_model=case["upstream_model"], stream=case["stream"]
    )
    assert request == case["out"]


@pytest.mark.parametrize("name", RESPONSES)
def test_response_golden(name: str) -> None:
    case = _golden(name)
    chat = gemini_response_to_chat(case["in"], model=case["model"], created=CREATED)
    assert chat == case["out"]
    ChatCompletion.model_validate(chat)


def _run(case: dict[str, Any]) -> tuple[GeminiStreamToChat, list[dict[str, Any]]]:
    stream = GeminiStreamToChat(
        model=case["model"], include_usage=case["include_usage"], created=CREATED
    )
    produced: list[dict[str, Any]] = []
    for number, step in enumerate(case["steps"]):
        if "raises" in step:
            with pytest.raises(StreamError) as caught:
                stream.feed(step["feed"])
            assert (caught.value.type, caught.value.message) == (
                step["raises"]["type"],
                step["raises"]["message"],
            )
            continue
        out = stream.finish() if step.get("finish") else stream.feed(step["feed"])
        assert out == step["out"], f"step {number}"
        produced += out
    return stream, produced


@pytest.mark.parametrize("name", STREAMS)
def test_stream_golden(name: str) -> None:
    case = _golden(name)
    stream, chunks = _run(case)
    usage = stream.usage
    assert {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    } == case["usage"]
    assert stream.finished is case["finished"]
    for produced in chunks:
        ChatCompletionChunk.model_validate(produced)


@pytest.mark.parametrize("name", [n for n in STREAMS if not n.endswith("_error")])
def test_stream_agrees_with_non_stream_conversion(name: str) -> None:
    """The OpenAI SDK, accumulating our chunks, sees what converting the whole answer gives."""
    case = _golden(name)
    _, chunks = _run(case)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for produced in chunks:
        if produced["choices"]:
            state.handle_chunk(ChatCompletionChunk.model_validate(produced))
    streamed = state.current_completion_snapshot.to_dict()["choices"][0]
    whole = _merge([step["feed"] for step in case["steps"] if "feed" in step])
    expected = gemini_response_to_chat(whole, model=case["model"], created=CREATED)["choices"][0]
    message = streamed["message"]
    assert message.get("content") == expected["message"]["content"]
    assert message.get("reasoning_content") == expected["message"].get("reasoning_content")
    assert _calls(message.get("tool_calls")) == expected["message"].get("tool_calls")
    assert streamed["finish_reason"] == expected["finish_reason"]


def _calls(calls: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """The SDK's snapshot adds ``index`` and ``parsed_arguments``; the rest must match."""
    if calls is None:
        return None
    return [
        {k: v for k, v in call.items() if k != "index"}
        | {"function": {k: v for k, v in call["function"].items() if k != "parsed_arguments"}}
        for call in calls
    ]


def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Gemini stream chunks as one response (parts concatenated, the last finish and usage)."""
    parts: list[dict[str, Any]] = []
    merged: dict[str, Any] = {}
    for piece in chunks:
        candidate = piece["candidates"][0]
        parts += candidate["content"]["parts"]
        merged.update({k: v for k, v in piece.items() if k != "candidates"})
        if "finishReason" in candidate:
            merged["finishReason"] = candidate["finishReason"]
    finish = merged.pop("finishReason", None)
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
    return {**merged, "candidates": [candidate]}


def test_blocked_prompt_in_a_stream_ends_with_content_filter() -> None:
    stream = GeminiStreamToChat(model="g", include_usage=True, created=CREATED)
    out = stream.feed({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "responseId": "b"})
    assert [(c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) for c in out] == [
        ({"role": "assistant"}, "content_filter")
    ]
    assert stream.finished


def test_usage_only_first_chunk_makes_no_output_and_role_waits_for_content() -> None:
    stream = GeminiStreamToChat(model="g", include_usage=False, created=CREATED)
    assert stream.feed({"usageMetadata": {"promptTokenCount": 3}, "responseId": "u"}) == []
    out = stream.feed({"candidates": [{"content": {"parts": [{"text": "x"}]}}]})
    assert out[0]["choices"][0]["delta"] == {"role": "assistant", "content": "x"}
    assert out[0]["id"] == "chatcmpl-u"
    assert not stream.finished


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
    ],
)
def test_response_finish_reasons(reason: str, expected: str) -> None:
    response = {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]}
    chat = gemini_response_to_chat(response, model="g", created=CREATED)
    assert chat["choices"][0]["finish_reason"] == expected


def test_function_responses_match_by_gemini_id_before_name() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"id": "g1", "name": "f", "args": {"n": 1}}},
                    {"functionCall": {"id": "g2", "name": "f", "args": {"n": 2}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "g2", "name": "f", "response": {"r": 2}}},
                    {"functionResponse": {"id": "g1", "name": "f", "response": {"r": 1}}},
                    {"functionResponse": {"name": "orphan", "response": {}}},
                ],
            },
        ]
    }
    messages = generate_request_to_chat(body, upstream_model="m", stream=False)["messages"]
    assert [(m["tool_call_id"], m["content"]) for m in messages if m["role"] == "tool"] == [
        ("call_1", '{"r":2}'),
        ("call_0", '{"r":1}'),
        ("call_2", "{}"),
    ]


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"thinkingBudget": 0}, None),
        ({"thinkingBudget": -1}, "medium"),
        ({"thinkingBudget": 1024}, "low"),
        ({"thinkingBudget": 8192}, "medium"),
        ({"thinkingBudget": 8193}, "high"),
        ({"thinkingLevel": "minimal"}, "low"),
        ({"thinkingLevel": "HIGH"}, "high"),
        ({"includeThoughts": True}, None),
    ],
)
def test_thinking_config_effort_approximation(thinking: dict[str, Any], effort: str | None) -> None:
    body = {"contents": [], "generationConfig": {"thinkingConfig": thinking}}
    request = generate_request_to_chat(body, upstream_model="m", stream=False)
    assert request.get("reasoning_effort") == effort
    assert request["extra_body"]["google"]["thinking_config"].keys() == {
        "".join(f"_{c.lower()}" if c.isupper() else c for c in key) for key in thinking
    }
    assert "stream" not in request


def test_tool_config_modes() -> None:
    tools = [{"functionDeclarations": [{"name": "f"}, {"name": "g"}]}]
    for config, choice in (
        ({"mode": "AUTO"}, "auto"),
        ({"mode": "NONE"}, "none"),
        ({"mode": "ANY"}, "required"),
        ({"mode": "ANY", "allowedFunctionNames": ["f", "g"]}, "required"),
    ):
        body = {"contents": [], "tools": tools, "toolConfig": {"functionCallingConfig": config}}
        request = generate_request_to_chat(body, upstream_model="m", stream=False)
        assert request["tool_choice"] == choice


def test_stream_without_usage_option_and_json_mode() -> None:
    body = {
        "contents": [{"parts": [{"text": "hi"}]}],
        "generationConfig": {"responseMimeType": "application/json", "candidateCount": 1},
    }
    request = generate_request_to_chat(body, upstream_model="m", stream=True, include_usage=False)
    assert request == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"},
        "stream": True,
    }
