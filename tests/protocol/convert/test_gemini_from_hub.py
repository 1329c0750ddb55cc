"""Hub (OpenAI chat) -> Gemini: requests for Gemini channels, answers and streams for Gemini
callers. Expected values are written out by hand in the goldens and below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newapi.protocol.convert import (
    ChatStreamToGemini,
    GeminiCall,
    StreamError,
    chat_request_to_gemini,
    chat_response_to_gemini,
)
from newapi.protocol.usage import from_openai

GOLDEN = Path(__file__).parent / "golden"
REQUESTS = sorted(path.stem for path in GOLDEN.glob("hub_to_gemini_request_*.json"))
RESPONSES = sorted(path.stem for path in GOLDEN.glob("hub_to_gemini_response_*.json"))
STREAMS = sorted(path.stem for path in GOLDEN.glob("hub_to_gemini_stream_*.json"))


def _golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("name", REQUESTS)
def test_request_golden(name: str) -> None:
    case = _golden(name)
    options = {"safety_threshold": case["safety_threshold"]} if "safety_threshold" in case else {}
    call = chat_request_to_gemini(case["in"], upstream_model=case["upstream_model"], **options)
    assert call == GeminiCall(model=case["out_model"], body=case["out"])


@pytest.mark.parametrize("name", RESPONSES)
def test_response_golden(name: str) -> None:
    case = _golden(name)
    assert chat_response_to_gemini(case["in"], model=case["model"]) == case["out"]


@pytest.mark.parametrize("name", STREAMS)
def test_stream_golden(name: str) -> None:
    case = _golden(name)
    stream = ChatStreamToGemini(model=case["model"])
    for number, step in enumerate(case["steps"]):
        if "raises" in step:
            with pytest.raises(StreamError) as caught:
                stream.feed(step["feed"])
            assert (caught.value.type, caught.value.message) == (
                step["raises"]["type"],
                step["raises"]["message"],
            )
            continue
        if step.get("finish"):
            usage = from_openai(step["usage"]) if step["usage"] is not None else None
            out = stream.finish(usage)
        else:
            out = stream.feed(step["feed"])
        assert out == step["out"], f"step {number}"


def _request(**fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], **fields}


def _thinking(model: str, **fields: Any) -> Any:
    call = chat_request_to_gemini(_request(**fields), upstream_model=model)
    return call.model, call.body.get("generationConfig", {}).get("thinkingConfig")


@pytest.mark.parametrize(
    ("model", "fields", "expected"),
    [
        (
            "gemini-2.5-flash-thinking",
            {},
            ("gemini-2.5-flash", {"thinkingBudget": -1, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-flash-thinking-512",
            {"reasoning_effort": "high"},
            ("gemini-2.5-flash", {"thinkingBudget": 512, "includeThoughts": True}),
        ),
        ("gemini-2.5-flash-nothinking", {}, ("gemini-2.5-flash", {"thinkingBudget": 0})),
        (
            "gemini-2.5-flash",
            {"reasoning_effort": "low"},
            ("gemini-2.5-flash", {"thinkingBudget": 1024, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-flash",
            {"reasoning_effort": "high"},
            ("gemini-2.5-flash", {"thinkingBudget": 24576, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-flash-lite",
            {"reasoning_effort": "minimal"},
            ("gemini-2.5-flash-lite", {"thinkingBudget": 512, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-flash",
            {"reasoning_effort": "none"},
            ("gemini-2.5-flash", {"thinkingBudget": 0}),
        ),
        (
            "gemini-2.5-pro",
            {"reasoning_effort": "none"},
            ("gemini-2.5-pro", {"thinkingBudget": 128}),
        ),
        (
            "gemini-3-pro-preview",
            {"reasoning_effort": "minimal"},
            ("gemini-3-pro-preview", {"thinkingLevel": "low", "includeThoughts": True}),
        ),
        (
            "gemini-3-pro-preview",
            {"reasoning_effort": "medium"},
            ("gemini-3-pro-preview", {"thinkingLevel": "high", "includeThoughts": True}),
        ),
        ("gemini-3-pro-preview", {"reasoning_effort": "none"}, ("gemini-3-pro-preview", None)),
        ("gemini-2.0-flash", {"reasoning_effort": "high"}, ("gemini-2.0-flash", None)),
        ("gemini-2.5-flash", {}, ("gemini-2.5-flash", None)),
        (
            "gemini-2.5-flash",
            {
                "reasoning_effort": "high",
                "extra_body": {"google": {"thinking_config": {"thinking_budget": 300}}},
            },
            ("gemini-2.5-flash", {"thinkingBudget": 300, "includeThoughts": True}),
        ),
        (
            "gemini-2.5-flash",
            {"google": {"thinking_config": {"thinkingBudget": 0}}},
            ("gemini-2.5-flash", {"thinkingBudget": 0}),
        ),
        (
            "gemini-3-flash",
            {
                "google": {
                    "thinking_config": {"thinking_level": "minimal", "include_thoughts": False}
                }
            },
            ("gemini-3-flash", {"thinkingLevel": "minimal", "includeThoughts": False}),
        ),
    ],
)
def test_thinking_sources_and_precedence(model: str, fields: dict[str, Any], expected: Any) -> None:
    assert _thinking(model, **fields) == expected


def test_tool_choice_modes_and_no_tool_config_without_declarations() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
            },
        }
    ]
    for choice, mode in (
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
    ):
        body = chat_request_to_gemini(
            _request(tools=tools, tool_choice=choice), upstream_model="g"
        ).body
        assert body["toolConfig"] == {"functionCallingConfig": mode}
    only_builtin = [{"type": "function", "function": {"name": "codeExecution"}}]
    body = chat_request_to_gemini(
        _request(tools=only_builtin, tool_choice="required"), upstream_model="g"
    ).body
    assert body["tools"] == [{"codeExecution": {}}]
    assert "toolConfig" not in body


def test_tool_result_name_falls_back_to_the_message_name_and_keeps_json_arrays_as_text() -> None:
    body = chat_request_to_gemini(
        {
            "messages": [
                {"role": "tool", "tool_call_id": "unknown", "name": "lookup", "content": "[1,2]"}
            ]
        },
        upstream_model="g",
    ).body
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "lookup", "response": {"content": "[1,2]"}}}],
        }
    ]


def test_media_urls_guess_or_fall_back_and_other_schemes_are_dropped() -> None:
    content = [
        {"type": "image_url", "image_url": {"url": "https://x.test/photo"}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/a.webp"}},
        {"type": "image_url", "image_url": {"url": "ftp://x.test/a.png"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
        {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
    ]
    body = chat_request_to_gemini(
        {"messages": [{"role": "user", "content": content}]}, upstream_model="g"
    ).body
    assert body["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/png", "fileUri": "https://x.test/photo"}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "gs://bucket/a.webp"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
        {"inlineData": {"mimeType": "audio/mpeg", "data": "SUQz"}},
    ]


@pytest.mark.parametrize(
    ("finish_reason", "expected"),
    [
        ("stop", "STOP"),
        ("length", "MAX_TOKENS"),
        ("content_filter", "SAFETY"),
        ("tool_calls", "STOP"),
        (None, "STOP"),
    ],
)
def test_response_finish_reasons(finish_reason: Any, expected: str) -> None:
    chat = {
        "id": "c",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "x"},
                "finish_reason": finish_reason,
            }
        ],
    }
    assert chat_response_to_gemini(chat, model="g")["candidates"][0]["finishReason"] == expected


def test_stream_several_choices_finish_separately() -> None:
    stream = ChatStreamToGemini(model="g")
    first = {
        "id": "c",
        "choices": [{"index": 1, "delta": {"content": "b"}, "finish_reason": "length"}],
    }
    out = stream.feed(first)
    assert out[0]["candidates"] == [
        {
            "content": {"role": "model", "parts": [{"text": "b"}]},
            "finishReason": "MAX_TOKENS",
            "index": 1,
        }
    ]
    assert stream.feed({"id": "c", "choices": [{"index": 1, "delta": {"content": "late"}}]}) == []
    closing = stream.finish()
    assert [c["index"] for c in closing[0]["candidates"]] == [0]
    assert stream.finish() == []
