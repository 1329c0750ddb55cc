"""Gemini -> hub -> Gemini keeps what Gemini defines; Claude <-> Gemini through the hub."""

from __future__ import annotations

import copy
from typing import Any

from newapi.protocol.convert import (
    chat_request_to_gemini,
    chat_response_to_gemini,
    chat_response_to_message,
    gemini_response_to_chat,
    generate_request_to_chat,
    messages_request_to_chat,
)

GEMINI_REQUEST: dict[str, Any] = {
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "contents": [
        {
            "role": "user",
            "parts": [
                {"text": "Weather in Paris and Lyon?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            ],
        },
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "sigP",
                },
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Lyon"}},
                    "thoughtSignature": "sigL",
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}},
            ],
        },
        {"role": "model", "parts": [{"text": "Paris 21, Lyon sunny."}]},
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ],
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ]
        }
    ],
    "toolConfig": {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    },
    "generationConfig": {
        "temperature": 0.4,
        "topP": 0.9,
        "topK": 32,
        "maxOutputTokens": 800,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": 11,
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.3,
        "responseMimeType": "application/json",
        "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        "thinkingConfig": {"thinkingBudget": 3000, "includeThoughts": True},
    },
}


def test_gemini_request_round_trip_keeps_what_gemini_defines() -> None:
    original = copy.deepcopy(GEMINI_REQUEST)
    hub = generate_request_to_chat(GEMINI_REQUEST, upstream_model="gemini-2.5-flash", stream=False)
    call = chat_request_to_gemini(hub, upstream_model="gemini-2.5-flash")
    assert original == GEMINI_REQUEST  # inputs are not mutated
    assert call.model == "gemini-2.5-flash"
    for key in ("systemInstruction", "contents", "tools", "toolConfig", "generationConfig"):
        assert call.body[key] == GEMINI_REQUEST[key], key


def test_gemini_answer_round_trip_keeps_parts_signatures_and_usage() -> None:
    answer = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Plan", "thought": True},
                        {"text": "Calling."},
                        {
                            "functionCall": {"name": "f", "args": {"x": [1, 2]}},
                            "thoughtSignature": "s1",
                        },
                    ],
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 30,
            "cachedContentTokenCount": 64,
            "totalTokenCount": 150,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "abc",
    }
    chat = gemini_response_to_chat(answer, model="gemini-2.5-flash", created=1)
    back = chat_response_to_gemini(chat, model="gemini-2.5-flash")
    assert back["candidates"] == answer["candidates"]
    assert back["usageMetadata"] == answer["usageMetadata"]


def test_claude_request_to_gemini_through_the_hub() -> None:
    claude = {
        "model": "claude-sonnet-4",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "use tool", "signature": "x"},
                    {
                        "type": "tool_use",
                        "id": "toolu_01",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": "21C"},
                    {"type": "text", "text": "And now?"},
                ],
            },
        ],
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
            }
        ],
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    hub = messages_request_to_chat(claude, upstream_model="gemini-3-pro-preview")
    call = chat_request_to_gemini(hub, upstream_model="gemini-3-pro-preview")
    assert call.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert call.body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "skip_thought_signature_validator",
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "21C"}}},
                {"text": "And now?"},
            ],
        },
    ]
    assert call.body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ]
        }
    ]
    assert call.body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert call.body["generationConfig"] == {
        "maxOutputTokens": 1024,
        "thinkingConfig": {"thinkingLevel": "high", "includeThoughts": True},
    }


def test_gemini_answer_to_claude_through_the_hub() -> None:
    answer = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Need data", "thought": True},
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                            "thoughtSignature": "s",
                        },
                        {"functionCall": {"name": "get_weather", "args": {"city": "Lyon"}}},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 500,
            "candidatesTokenCount": 40,
            "thoughtsTokenCount": 60,
            "cachedContentTokenCount": 300,
            "totalTokenCount": 600,
        },
        "responseId": "r9",
    }
    chat = gemini_response_to_chat(answer, model="claude-sonnet-4", created=1)
    message = chat_response_to_message(chat, model="claude-sonnet-4")
    assert message["content"] == [
        {"type": "thinking", "thinking": "Need data", "signature": ""},
        {"type": "tool_use", "id": "call_r9_0", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_r9_1", "name": "get_weather", "input": {"city": "Lyon"}},
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"]["input_tokens"] == 200
    assert message["usage"]["cache_read_input_tokens"] == 300
    assert message["usage"]["output_tokens"] == 100
