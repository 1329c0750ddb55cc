"""Anthropic Messages: as a wire (Anthropic, Claude on Vertex AI) and as a caller."""

from __future__ import annotations

import orjson

from newapi.protocol import sse
from newapi.protocol.convert import (
    ChatStreamToClaude,
    ClaudeStreamToChat,
    chat_request_to_claude,
    chat_response_to_message,
    claude_response_to_chat,
    messages_request_to_chat,
)
from newapi.protocol.usage import Usage, from_claude
from newapi.relay.hub.sides import JSON, HubSink, HubSource
from newapi.relay.job import Job
from newapi.relay.translate import (
    DEFAULT_MAX_TOKENS,
    claude_stream_error,
    load_json,
)


def thinking_budget(hub: JSON) -> int | None:
    """The exact thinking budget a Gemini or Claude caller asked for, carried in the hub as
    Google's ``extra_body.google.thinking_config`` (``reasoning_effort`` only approximates it)."""
    extra = hub.get("extra_body")
    google = extra.get("google") if isinstance(extra, dict) else None
    config = google.get("thinking_config") if isinstance(google, dict) else None
    if not isinstance(config, dict):
        return None
    budget = config.get("thinking_budget", config.get("thinkingBudget"))
    return budget if isinstance(budget, int) and not isinstance(budget, bool) else None


class ClaudeWire:
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        thinking = upstream_model.endswith("-thinking")
        budget = thinking_budget(hub)
        if budget is not None and budget > 0 and "reasoning" not in hub:
            hub = {**hub, "reasoning": {"max_tokens": budget}}  # the Claude converter's exact form
        elif budget == 0:
            hub = {k: v for k, v in hub.items() if k != "reasoning_effort"}  # thinking off
        return chat_request_to_claude(
            hub,
            upstream_model=upstream_model.removesuffix("-thinking"),
            default_max_tokens=DEFAULT_MAX_TOKENS,
            thinking=thinking,
        )

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        return claude_response_to_chat(body, model=str(body.get("model") or "")), from_claude(
            body.get("usage")
        )

    def source(self, job: Job) -> HubSource:
        return _ClaudeSource(job)


class _ClaudeSource:
    def __init__(self, job: Job) -> None:
        self.converter = ClaudeStreamToChat(model=job.model, include_usage=True)
        self.finished = False

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        if parsed.get("type") == "message_stop":
            self.finished = True
        return list(self.converter.feed(parsed))

    def finish(self) -> list[JSON]:
        return list(self.converter.finish())

    def usage(self) -> Usage | None:
        usage = self.converter.usage
        return None if usage.is_empty else usage


class ClaudeCaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        hub = messages_request_to_chat(
            job.body, upstream_model=upstream_model, include_usage=include_usage
        )
        thinking = job.body.get("thinking")
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if isinstance(budget, int) and budget > 0 and thinking.get("type") == "enabled":
            config = {"thinking_budget": budget, "include_thoughts": True}
            hub["extra_body"] = {"google": {"thinking_config": config}}
        return hub

    def answer(self, job: Job, chat: JSON) -> JSON:
        return dict(chat_response_to_message(chat, model=job.model))

    def sink(self, job: Job) -> HubSink:
        return _ClaudeSink(job)


class _ClaudeSink:
    def __init__(self, job: Job) -> None:
        self.converter = ChatStreamToClaude(model=job.model, prompt_estimate=job.prompt_estimate)

    def feed(self, chunk: JSON) -> list[bytes]:
        return [sse.encode(orjson.dumps(body), name) for name, body in self.converter.feed(chunk)]

    def end(self, usage: Usage) -> list[bytes]:
        events = self.converter.finish(estimate=usage)
        return [sse.encode(orjson.dumps(body), name) for name, body in events]

    def fail(self, message: str) -> list[bytes]:
        return [claude_stream_error(message)]
