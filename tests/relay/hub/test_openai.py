"""The hub's OpenAI wire side: what a strict OpenAI upstream is sent (pure)."""

from __future__ import annotations

from newapi.relay.hub.openai import OpenAIWire

HUB = {
    "model": "x",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 128000,
    "reasoning_effort": "medium",
}


def test_reasoning_model_gets_max_completion_tokens_and_effort() -> None:
    body = OpenAIWire().request(dict(HUB), "gpt-5", force_usage=False)
    assert body["model"] == "gpt-5" and body["reasoning_effort"] == "medium"
    assert body["max_completion_tokens"] == 128000 and "max_tokens" not in body


def test_other_model_keeps_max_tokens_and_loses_effort() -> None:
    body = OpenAIWire().request(dict(HUB), "gpt-4o-mini", force_usage=False)
    assert body["max_tokens"] == 128000 and "max_completion_tokens" not in body
    assert "reasoning_effort" not in body


def test_developer_messages_go_as_system() -> None:
    hub = {
        "model": "x",
        "messages": [
            {"role": "developer", "content": "You are Codex."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Sandbox: on."}]},
        ],
    }
    body = OpenAIWire().request(hub, "deepseek-chat", force_usage=False)
    assert body["messages"] == [
        {"role": "system", "content": "You are Codex."},
        {"role": "user", "content": "hi"},
        {"role": "system", "content": [{"type": "text", "text": "Sandbox: on."}]},
    ]
    assert hub["messages"][0]["role"] == "developer"  # the hub request is not changed
