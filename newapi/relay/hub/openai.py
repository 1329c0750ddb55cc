"""OpenAI Chat Completions, the hub's own shape: as a wire and as a caller."""

from __future__ import annotations

from typing import Any

import orjson

from newapi.protocol import sse
from newapi.protocol.convert import (
    StreamError,
)
from newapi.protocol.usage import Usage, from_openai
from newapi.relay.hub.sides import JSON, HubSink, HubSource
from newapi.relay.job import Job
from newapi.relay.stream import OpenAIStreamTracker
from newapi.relay.translate import (
    DONE_EVENT,
    chat_stream_error,
    load_json,
)

# Hub extensions a strict OpenAI upstream refuses ("Unrecognized request argument").
_HUB_ONLY = ("top_k", "extra_body", "google")
_REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


class OpenAIWire:
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        body = {k: v for k, v in hub.items() if k not in _HUB_ONLY}
        body["model"] = upstream_model
        if body.get("stream") and not force_usage:
            body.pop("stream_options", None)
        reasoning_model = upstream_model.startswith(_REASONING_MODELS)
        if not reasoning_model:
            # approximated from a Gemini thinkingConfig or Claude thinking: only reasoning
            # models take it (and gpt-5's verbosity)
            body.pop("reasoning_effort", None)
            body.pop("verbosity", None)
        elif "max_tokens" in body and "max_completion_tokens" not in body:
            body["max_completion_tokens"] = body.pop("max_tokens")  # reasoning models refuse it
        messages = body.get("messages")
        if isinstance(messages, list):
            body["messages"] = [_openai_message(m) for m in messages]
        return body

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        return body, from_openai(body.get("usage"))

    def source(self, job: Job) -> HubSource:
        return _OpenAISource(job)


def _openai_message(message: Any) -> Any:
    """A hub message without the hub's extensions (thought signatures, tool-result names) and
    with ``developer`` as ``system``."""
    if not isinstance(message, dict):
        return message
    if message.get("role") == "developer":
        # A Responses caller's (Codex's) developer turns: DeepSeek and other chat upstreams
        # refuse the role ("unknown variant `developer`"); every chat upstream takes system,
        # which OpenAI's reasoning models treat as developer.
        message = {**message, "role": "system"}
    if message.get("role") == "tool" and "name" in message:
        message = {k: v for k, v in message.items() if k != "name"}
    if "reasoning_content" in message:  # DeepSeek refuses it in input messages
        message = {k: v for k, v in message.items() if k != "reasoning_content"}
    calls = message.get("tool_calls")
    if isinstance(calls, list) and any(isinstance(c, dict) and "extra_content" in c for c in calls):
        stripped = [
            {k: v for k, v in c.items() if k != "extra_content"} if isinstance(c, dict) else c
            for c in calls
        ]
        message = {**message, "tool_calls": stripped}
    return message


class _OpenAISource:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.tracker = OpenAIStreamTracker(include_usage=True, model=job.model)
        self.served = False

    @property
    def finished(self) -> bool:
        return self.tracker.finished

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        if data == sse.DONE:
            self.tracker.finished = True
            return []
        if data is None:
            return []
        self.tracker.observe(data)  # counts streamed text in case upstream reports no usage
        chunk = load_json(data)
        if not isinstance(chunk, dict):
            return []
        error = chunk.get("error")
        if isinstance(error, dict) and not chunk.get("choices"):  # an in-stream error event
            raise StreamError(str(error.get("type") or "upstream_error"), str(error.get("message")))
        self.served = True
        return [chunk]

    def finish(self) -> list[JSON]:
        return []

    def usage(self) -> Usage | None:
        if self.tracker.usage is not None or not self.served:
            return self.tracker.usage
        return self.tracker.final_usage(self.job.counted_prompt())  # counted locally


class OpenAICaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        hub = dict(job.body)
        if job.stream:
            hub["stream_options"] = {"include_usage": True}
        return hub

    def answer(self, job: Job, chat: JSON) -> JSON:
        return {**chat, "model": job.model}

    def sink(self, job: Job) -> HubSink:
        return _OpenAISink(job)


class _OpenAISink:
    def __init__(self, job: Job) -> None:
        self.job = job

    def feed(self, chunk: JSON) -> list[bytes]:
        if not chunk.get("choices") and "usage" in chunk and not self.job.include_usage:
            return []
        return [sse.encode(orjson.dumps({**chunk, "model": self.job.model}))]

    def end(self, usage: Usage) -> list[bytes]:
        return [DONE_EVENT]

    def fail(self, message: str) -> list[bytes]:
        return [chat_stream_error(message)]
