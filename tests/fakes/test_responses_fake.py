"""The fake's Responses API: reasoning items and custom tool calls, read back by the openai SDK's
own stream accumulator (so the event sequence is one the SDK accepts)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from bench.fakes import FakeProviders, Scenario, ToolCall

PATCH = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as fake:
        yield fake


def thinking_scenario() -> Scenario:
    scenario = Scenario(text="", thinking="Patch the file.", reasoning_tokens=7)
    scenario.tool_calls = [ToolCall("apply_patch", PATCH, id="call_p", custom=True)]
    return scenario


async def test_streamed_reasoning_and_custom_tool_call(fake: FakeProviders) -> None:
    fake.scenario = thinking_scenario()
    client = AsyncOpenAI(base_url=fake.url + "/v1", api_key="sk-x", max_retries=0)
    async with (
        client,
        client.responses.stream(
            model="gpt-5",
            input="patch it",
            reasoning={"effort": "low", "summary": "auto"},
            include=["reasoning.encrypted_content"],
        ) as stream,
    ):
        events = [event async for event in stream]
        final = await stream.get_final_response()
    reasoning, call = final.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Patch the file."
    assert reasoning.encrypted_content and reasoning.encrypted_content.startswith("gAAAA")
    assert call.type == "custom_tool_call" and call.input == PATCH and call.call_id == "call_p"
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 7
    kinds = [event.type for event in events]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert kinds.index("response.reasoning_summary_text.delta") < kinds.index(
        "response.custom_tool_call_input.delta"
    )
    assert kinds[-1] == "response.completed" and "response.custom_tool_call_input.done" in kinds


async def test_reasoning_without_summary_or_include_is_bare(fake: FakeProviders) -> None:
    fake.scenario = thinking_scenario()
    async with AsyncOpenAI(base_url=fake.url + "/v1", api_key="sk-x", max_retries=0) as client:
        answer = await client.responses.create(model="gpt-5", input="patch it")
    reasoning, call = answer.output
    assert reasoning.type == "reasoning" and reasoning.summary == []
    assert reasoning.encrypted_content is None
    assert call.type == "custom_tool_call" and call.name == "apply_patch"
