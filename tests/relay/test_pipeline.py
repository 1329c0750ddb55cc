"""The shared relay steps: what a body must be, and what is refused before any reservation."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from newapi.protocol.depth import MAX_DEPTH
from tests.relay.conftest import Relay, new_key

CHAT = "gpt-4o-mini"  # priced by the default ratios


def nested(levels: int) -> Any:
    """``levels`` nested arrays and objects (the innermost a string)."""
    value: Any = "deep"
    for level in range(levels):
        value = [value] if level % 2 else {"x": value}
    return value


def schema_tool(levels: int) -> dict[str, Any]:
    """An OpenAI function tool whose parameters reach ``levels`` levels in the whole body."""
    # body{ tools[ {function{ parameters{...}}} ] }: the schema starts at level 5
    return {
        "type": "function",
        "function": {"name": "deep", "parameters": {"type": "object", "d": nested(levels - 5)}},
    }


async def balance(relay: Relay, token_id: int) -> int:
    reply = await relay.root.get(f"/api/token/{token_id}")
    assert reply.success, reply.body
    return int(reply.data["remain_quota"])


async def limited_key(relay: Relay) -> tuple[int, str]:
    # Less than any reservation of a chat call: a body refused after reserving gets a 403.
    return await new_key(relay.root, unlimited_quota=False, remain_quota=1)


async def test_bodies_deeper_than_the_limit_are_refused_before_any_reservation(
    relay: Relay,
) -> None:
    await relay.channel(models=f"{CHAT},text-embedding-3-small")
    token_id, key = await limited_key(relay)
    client = relay.openai(key)
    deeper = MAX_DEPTH + 1
    calls = {
        "chat": client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "hi"}],
            tools=[schema_tool(deeper)],  # type: ignore[list-item]
        ),
        "responses": client.responses.create(
            model=CHAT, input="hi", extra_body={"metadata": {"m": nested(deeper - 2)}}
        ),
        "embeddings": client.embeddings.create(
            model="text-embedding-3-small",
            input="hi",
            extra_body={"user": nested(deeper - 1)},
        ),
        # Past what orjson writes (254), short of what it reads (1,024): was a 500.
        "chat past orjson": client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "hi"}], tools=[schema_tool(600)]
        ),
    }
    for name, call in calls.items():
        with pytest.raises(openai.BadRequestError) as refused:
            await call
        error = refused.value.body
        assert isinstance(error, dict), name
        assert error["type"] == "invalid_request_error", (name, error)
        assert f"more than {MAX_DEPTH} levels" in error["message"], (name, error)
    assert relay.fake.requests == []
    assert await balance(relay, token_id) == 1
    assert await relay._logs({}) == []


async def test_claude_callers_get_a_claude_error(relay: Relay) -> None:
    await relay.channel(models=CHAT)
    _, key = await limited_key(relay)
    claude = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    tool = {"name": "deep", "input_schema": {"type": "object", "d": nested(300)}}
    with pytest.raises(anthropic.BadRequestError) as refused:
        await claude.messages.create(
            model=CHAT,
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            tools=[tool],  # type: ignore[list-item]
        )
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error", body
    assert body["error"]["type"] == "invalid_request_error", body
    assert relay.fake.requests == []


async def test_a_body_at_the_limit_is_relayed_whole(relay: Relay) -> None:
    await relay.channel(models=CHAT)
    key = await relay.key()
    reply = await relay.openai(key).chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "hi"}],
        tools=[schema_tool(MAX_DEPTH)],  # type: ignore[list-item]
    )
    assert reply.choices[0].message.content
    (sent,) = relay.fake.requests
    assert sent.body["tools"][0]["function"]["parameters"]["d"] == nested(MAX_DEPTH - 5)
