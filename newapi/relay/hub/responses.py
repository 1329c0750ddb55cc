"""OpenAI's Responses API: as a caller (Codex and other Responses clients on chat-only, Claude
or Gemini channels) and as a wire (chat, Claude and Gemini callers on models OpenAI serves only
through Responses)."""

from __future__ import annotations

import orjson

from newapi.protocol import sse
from newapi.protocol.convert import (
    ChatStreamToResponses,
    ResponsesStreamToChat,
    chat_request_to_responses,
    chat_response_to_responses,
    responses_request_to_chat,
    responses_response_to_chat,
)
from newapi.protocol.usage import Usage, from_openai
from newapi.relay.hub.sides import JSON, ConvertedSource, HubSink, HubSource
from newapi.relay.job import Job


class ResponsesWire:
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON:
        return chat_request_to_responses(hub, upstream_model=upstream_model)

    def answer(self, body: JSON) -> tuple[JSON, Usage]:
        chat = responses_response_to_chat(body, model=str(body.get("model") or ""))
        return chat, from_openai(body.get("usage"))

    def source(self, job: Job) -> HubSource:
        return ConvertedSource(ResponsesStreamToChat(model=job.model, include_usage=True))


class ResponsesCaller:
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON:
        return responses_request_to_chat(job.body, upstream_model=upstream_model)

    def answer(self, job: Job, chat: JSON) -> JSON:
        return chat_response_to_responses(chat, model=job.model, request=job.body)

    def sink(self, job: Job) -> HubSink:
        return _ResponsesSink(job)


class _ResponsesSink:
    def __init__(self, job: Job) -> None:
        self.converter = ChatStreamToResponses(model=job.model, request=job.body)

    def feed(self, chunk: JSON) -> list[bytes]:
        return [sse.encode(orjson.dumps(data), name) for name, data in self.converter.feed(chunk)]

    def end(self, usage: Usage) -> list[bytes]:
        return [sse.encode(orjson.dumps(data), name) for name, data in self.converter.finish(usage)]

    def fail(self, message: str) -> list[bytes]:
        return [sse.encode(orjson.dumps(data), name) for name, data in self.converter.fail(message)]
