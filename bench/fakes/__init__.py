"""Fake LLM providers on loopback (OpenAI, Azure OpenAI, Anthropic, Gemini, Vertex AI), shared
by tests and bench/.

async with FakeProviders.start() as fake:
    fake.scenario.text = "Hi there"
    fake.channel("sk-b").error = FakeError(429, times=1)
    account = fake.vertex.make_service_account()  # a Vertex AI channel's JSON key
    ...  # point a client or a gateway channel at fake.url
    assert fake.last.headers["api-key"] == "..."
"""

from bench.fakes.realtime import RealtimeScript, RecordedSession
from bench.fakes.scenario import FakeError, Scenario, ToolCall, split_text
from bench.fakes.server import FakeProviders, RecordedRequest

__all__ = [
    "FakeError",
    "FakeProviders",
    "RealtimeScript",
    "RecordedRequest",
    "RecordedSession",
    "Scenario",
    "ToolCall",
    "split_text",
]
