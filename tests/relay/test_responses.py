"""OpenAI's Responses API through the gateway with the official SDK, and GET /v1/models/{model}."""

from __future__ import annotations

import aiohttp
import openai
import orjson
import pytest

from bench.fakes import ToolCall, split_text
from newapi.protocol.tokens import StreamCounter
from tests.relay.conftest import Relay, log_other, new_key

AZURE = 3


async def test_plain_response_is_relayed_and_billed(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = "Hello from the Responses API"
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 1000, 200
    reply = await relay.openai(key).responses.create(
        model="gpt-4o-mini", input="hi", instructions="be brief", max_output_tokens=300
    )
    assert reply.object == "response" and reply.status == "completed"
    assert reply.output_text == "Hello from the Responses API"
    assert reply.usage is not None
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (1000, 200)
    sent = relay.fake.last
    assert sent.path == "/v1/responses" and sent.api_key == "sk-up"
    assert sent.body["input"] == "hi" and sent.body["instructions"] == "be brief"
    (log,) = await relay.logs(1)
    # gpt-4o-mini: ratio 0.075, completion ratio 4: (1000 + 200 * 4) * 0.075 = 135
    assert (log["quota"], log["prompt_tokens"], log["completion_tokens"]) == (135, 1000, 200)
    assert log["is_stream"] is False and log_other(log)["request_path"] == "/v1/responses"


async def test_function_calls_come_back_as_output_items(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = ""
    relay.fake.scenario.tool_calls = [ToolCall("get_weather", {"city": "Paris"})]
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    reply = await relay.openai(key).responses.create(
        model="gpt-4o-mini", input="weather in Paris?", tools=tools
    )
    (item,) = reply.output
    assert item.type == "function_call" and item.name == "get_weather"
    assert item.arguments == '{"city":"Paris"}'
    assert relay.fake.last.body["tools"][0]["name"] == "get_weather"
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == relay.fake.scenario.completion_tokens


async def test_stream_events_pass_through_and_are_billed(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.text = "one two three four five six"
    relay.fake.scenario.chunks = 6
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 40, 12
    stream = await relay.openai(key).responses.create(
        model="gpt-4o-mini", input="count to six", stream=True
    )
    events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "one two three four five six" and len(deltas) == 6
    final = events[-1].response  # type: ignore[union-attr]
    assert final.usage is not None and final.usage.output_tokens == 12
    # Responses takes no stream_options.include_usage: the gateway must not add it (the fake,
    # like OpenAI, would refuse the request).
    assert relay.fake.last.stream and "stream_options" not in relay.fake.last.body
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True
    assert (log["prompt_tokens"], log["completion_tokens"]) == (40, 12)
    assert "local_count_tokens" not in log_other(log)["admin_info"]


async def test_named_events_reach_the_caller_unchanged(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    relay.fake.scenario.chunks = 3
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/responses",
            json={"model": "gpt-4o-mini", "input": "hi", "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = (await resp.read()).decode()
    events = [block for block in text.split("\n\n") if block.startswith("event: ")]
    assert events[0].startswith("event: response.created\ndata: {")
    assert sum(e.startswith("event: response.output_text.delta\n") for e in events) == 3
    assert events[-1].startswith("event: response.completed\n")
    assert "[DONE]" not in text  # Responses streams end with their terminal event


async def test_stream_cut_short_is_billed_from_the_delivered_text(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    scenario = relay.fake.scenario
    scenario.text = "alpha beta gamma delta epsilon zeta eta theta"
    scenario.chunks, scenario.disconnect_after = 8, 3
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/responses",
            json={"model": "gpt-4o-mini", "input": "hi", "stream": True},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        body = (await resp.read()).decode()
    assert body.count("event: response.output_text.delta") == 3
    assert "response.completed" not in body and "[DONE]" not in body
    last = body.strip().split("\n\n")[-1]
    assert last.startswith("event: error\ndata: ")
    error = orjson.loads(last.split("data: ", 1)[1])
    assert error["type"] == "error" and error["code"] == "stream_interrupted"
    assert error["sequence_number"] > 0
    counter = StreamCounter("gpt-4o-mini")
    for piece in split_text(scenario.text, 8)[:3]:
        counter.feed_text(piece)
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == counter.total > 0
    assert log_other(log)["admin_info"]["local_count_tokens"] is True


async def test_azure_v1_channel_serves_responses(relay: Relay) -> None:
    await relay.channel(type=AZURE, key="azure-key-0123456789", models="gpt-4o", other="v1")
    key = await relay.key()
    reply = await relay.openai(key).responses.create(model="gpt-4o", input="hi")
    assert reply.output_text == relay.fake.scenario.text
    sent = relay.fake.last
    assert sent.provider == "azure" and sent.path == "/openai/v1/responses"
    assert sent.headers["api-key"] == "azure-key-0123456789"
    (log,) = await relay.logs(1)
    assert log["model_name"] == "gpt-4o" and log["quota"] > 0


async def test_caller_errors_in_openai_format(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    with pytest.raises(openai.AuthenticationError):
        await relay.openai("sk-" + "x" * 48).responses.create(model="gpt-4o-mini", input="hi")
    with pytest.raises(openai.APIStatusError) as no_channel:
        await relay.openai(key).responses.create(model="gpt-4o", input="hi")
    assert no_channel.value.status_code == 503
    assert not relay.fake.requests


async def test_retrieve_model_follows_group_and_key_limits(relay: Relay) -> None:
    await relay.channel(models="gpt-4o-mini,gpt-4o")
    key = await relay.key()
    model = await relay.openai(key).models.retrieve("gpt-4o-mini")
    assert (model.id, model.object) == ("gpt-4o-mini", "model")
    with pytest.raises(openai.NotFoundError) as missing:
        await relay.openai(key).models.retrieve("gpt-4.1")
    assert missing.value.status_code == 404
    assert missing.value.code == "model_not_found" and "gpt-4.1" in missing.value.message
    limited = await relay.key(model_limits_enabled=True, model_limits="gpt-4o")
    assert (await relay.openai(limited).models.retrieve("gpt-4o")).id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        await relay.openai(limited).models.retrieve("gpt-4o-mini")
    with pytest.raises(openai.AuthenticationError):
        await relay.openai("sk-" + "y" * 48).models.retrieve("gpt-4o")


async def test_retrieve_model_with_a_slash_in_its_name(relay: Relay) -> None:
    await relay.channel(models="deepseek-ai/DeepSeek-V3")
    key = await relay.key()
    model = await relay.openai(key).models.retrieve("deepseek-ai/DeepSeek-V3")
    assert model.id == "deepseek-ai/DeepSeek-V3"


async def test_azure_dated_channel_uses_the_responses_path(relay: Relay) -> None:
    await relay.channel(
        type=AZURE, key="azure-key-0123456789", models="gpt-4o", other="2025-04-01-preview"
    )
    key = await relay.key()
    reply = await relay.openai(key).responses.create(model="gpt-4o", input="hi")
    assert reply.output_text == relay.fake.scenario.text
    sent = relay.fake.last
    assert sent.path == "/openai/responses" and sent.json["model"] == "gpt-4o"
    assert sent.query["api-version"] == "2025-04-01-preview"


async def test_azure_responses_version_setting_wins(relay: Relay) -> None:
    await relay.channel(
        type=AZURE,
        key="azure-key-0123456789",
        models="gpt-4o",
        other="2024-10-21",
        setting='{"azure_responses_version": "2025-03-01-preview"}',
    )
    key = await relay.key()
    await relay.openai(key).responses.create(model="gpt-4o", input="hi")
    assert relay.fake.last.query["api-version"] == "2025-03-01-preview"
    # chat on the same channel keeps the deployment path and the channel's version
    await relay.openai(key).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert relay.fake.last.path == "/openai/deployments/gpt-4o/chat/completions"
    assert relay.fake.last.query["api-version"] == "2024-10-21"


async def test_effort_suffix_becomes_reasoning_effort(relay: Relay) -> None:
    await relay.channel(models="o3-mini-high")
    await relay.option("ModelRatio", {"o3-mini-high": 0.55})
    key = await relay.key()
    await relay.openai(key).responses.create(
        model="o3-mini-high", input="hi", reasoning={"summary": "auto"}
    )
    sent = relay.fake.last.json
    assert sent["model"] == "o3-mini" and "reasoning_effort" not in sent
    assert sent["reasoning"] == {"summary": "auto", "effort": "high"}


async def test_reservation_counts_max_output_tokens(relay: Relay) -> None:
    await relay.channel()
    _, key = await new_key(relay.root, unlimited_quota=False, remain_quota=5_000)
    client = relay.openai(key)
    # gpt-4o-mini: ratio 0.075, completion ratio 4: 100 000 output tokens reserve 30 000 quota
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await client.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=100_000)
    assert refused.value.code == "pre_consume_token_quota_failed"
    assert relay.fake.requests == []
    reply = await client.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=500)
    assert reply.output_text == relay.fake.scenario.text
