"""The shared relay steps: what a body must be, and what is refused before any reservation."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from typing import Any

import anthropic
import openai
import pytest

from newapi.errors import PriceNotConfigured
from newapi.options import Options
from newapi.protocol.depth import MAX_DEPTH
from newapi.relay.auth import Caller
from newapi.relay.pipeline import caller_price
from tests.relay.conftest import Relay, StartRelay, log_other, new_key, poll

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


# ---- routing before pricing ---------------------------------------------------------------------

UNPRICED = "house-model-unpriced"  # in no ratio or price map


async def error_logs(relay: Relay) -> list[dict[str, Any]]:
    reply = await relay.root.get("/api/log/", params={"type": 5, "page_size": 100})
    assert reply.success, reply.body
    return list(reply.data["items"])


async def settled_error_logs(relay: Relay, count: int) -> list[dict[str, Any]]:
    """The error logs once ``count`` are in, and a flush later (to see one too many)."""
    await poll(lambda: error_logs(relay), lambda rows: len(rows) >= count)
    await asyncio.sleep(1.5)  # BATCH_UPDATE_INTERVAL is 1 s
    return await error_logs(relay)


def sdk_clients(relay: Relay, key: str) -> tuple[openai.AsyncOpenAI, anthropic.AsyncAnthropic]:
    """The SDKs as callers ship them: default max_retries (2), which retry 408/409/429/5xx."""
    url = relay.gateway.url
    return (
        openai.AsyncOpenAI(base_url=url + "/v1", api_key=key, timeout=60),
        anthropic.AsyncAnthropic(base_url=url, api_key=key, timeout=60),
    )


async def test_a_model_no_channel_serves_is_a_503_before_its_price(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay(ERROR_LOG_ENABLED="true")
    await relay.channel(models=CHAT)
    key = await relay.key()
    client = relay.openai(key)  # no retries: a 503 is retried by the SDKs, rightly
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(
            model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 503
    error = refused.value.body
    assert isinstance(error, dict) and error["code"] == "model_not_found", error
    assert UNPRICED in error["message"] and "group default" in error["message"]
    claude = anthropic.AsyncAnthropic(base_url=relay.gateway.url, api_key=key, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as refused_claude:
        await claude.messages.create(
            model=UNPRICED, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused_claude.value.status_code == 503
    assert relay.fake.requests == []
    rows = await settled_error_logs(relay, 2)
    assert [log_other(row)["error_code"] for row in rows] == ["model_not_found"] * 2


async def test_an_admin_key_naming_a_channel_is_checked_before_pricing(relay: Relay) -> None:
    channel = await relay.channel(models=CHAT)
    key = await relay.key()  # root's: an admin may add "-<channel id>" to the key
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.APIStatusError) as refused:
        await relay.openai(f"{key}-{channel + 100}").chat.completions.create(
            model=UNPRICED,
            messages=messages,  # type: ignore[arg-type]
        )
    assert refused.value.status_code == 503
    assert f"channel {channel + 100} is not available" in refused.value.message
    reply = await relay.openai(f"{key}-{channel}").chat.completions.create(
        model=CHAT,
        messages=messages,  # type: ignore[arg-type]
    )
    assert reply.choices[0].message.content
    assert len(relay.fake.requests) == 1


async def test_a_served_model_without_a_price_is_one_request_not_retried(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay(ERROR_LOG_ENABLED="true")
    await relay.channel(models=UNPRICED)
    key = await relay.key()
    chat, claude = sdk_clients(relay, key)
    with pytest.raises(openai.BadRequestError) as refused:
        await chat.chat.completions.create(
            model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
        )
    error = refused.value.body
    assert isinstance(error, dict), error
    assert (error["type"], error["code"]) == ("invalid_request_error", "model_price_error")
    assert f"model {UNPRICED} has no ratio or price" in error["message"]
    with pytest.raises(anthropic.BadRequestError) as refused_claude:
        await claude.messages.create(
            model=UNPRICED, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    body = refused_claude.value.body
    assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error", body
    assert UNPRICED in body["error"]["message"]
    assert relay.fake.requests == []
    # One request per caller reached the gateway: the SDKs did not retry.
    rows = await settled_error_logs(relay, 2)
    assert [(row["model_name"], log_other(row)["status_code"]) for row in rows] == [
        (UNPRICED, 400)
    ] * 2, rows
    assert await relay._logs({}) == []


async def test_self_use_mode_serves_an_unpriced_model_at_ratio_37_5(relay: Relay) -> None:
    await relay.channel(models=UNPRICED)
    await relay.option("SelfUseModeEnabled", "true")
    scenario = relay.fake.scenario
    scenario.prompt_tokens, scenario.completion_tokens = 10, 6
    reply = await relay.openai(await relay.key()).chat.completions.create(
        model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content
    (log,) = await relay.logs(1)
    assert log["model_name"] == UNPRICED and log_other(log)["model_ratio"] == 37.5
    assert log["quota"] == (10 + 6) * 37.5  # completion ratio 1 for an unknown name
    # And back off: the same model is refused again, with no upstream call.
    await relay.option("SelfUseModeEnabled", "false")
    with pytest.raises(openai.BadRequestError):
        await relay.openai(await relay.key()).chat.completions.create(
            model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
        )
    assert len(relay.fake.requests) == 1


async def test_the_users_own_setting_serves_unpriced_models_across_groups(relay: Relay) -> None:
    # new-api's AcceptUnsetRatioModel user setting; no API writes it, so the row is edited.
    with closing(sqlite3.connect(relay.gateway.workdir / "one-api.db", timeout=30)) as db, db:
        db.execute(
            "UPDATE users SET setting = ? WHERE username = 'root'",
            ('{"accept_unset_model_ratio_model": true}',),
        )
    await relay.option("UserUsableGroups", {"default": "d", "vip": "v", "auto": "a"})
    await relay.option("AutoGroups", ["vip", "default"])
    await relay.option("GroupRatio", {"default": 1, "vip": 2})
    await relay.option("RetryTimes", 1)
    await relay.channel(name="v", group="vip", key="sk-vip-fail-500", models=UNPRICED)
    await relay.channel(name="d", group="default", key="sk-def-0001", models=UNPRICED)
    _, key = await new_key(relay.root, group="auto", cross_group_retry=True)
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 10, 6
    reply = await relay.openai(key).chat.completions.create(
        model=UNPRICED, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content
    (log,) = await relay.logs(1)
    # Served by the second group after the first failed, and billed at its ratio.
    assert log["group"] == "default" and log_other(log)["model_ratio"] == 37.5
    assert log["quota"] == (10 + 6) * 37.5


def caller_with(setting: str) -> Caller:
    user = {"id": 1, "group": "default", "setting": setting}
    return Caller("k", {"id": 1}, user, "default")


def test_the_user_setting_accepting_unset_models_prices_them_at_37_5() -> None:
    accepting = caller_with(json.dumps({"accept_unset_model_ratio_model": True}))
    assert caller_price(Options({}), accepting, UNPRICED).model_ratio == 37.5
    with pytest.raises(PriceNotConfigured) as refused:
        caller_price(Options({}), caller_with('{"notify_type": "email"}'), UNPRICED)
    assert refused.value.http_status == 400 and UNPRICED in refused.value.message
