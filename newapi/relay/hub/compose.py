"""A caller side and a wire side composed into one translator."""

from __future__ import annotations

import orjson

from newapi.adaptors.base import Adaptor
from newapi.protocol.usage import Usage
from newapi.relay.hub.sides import CallerSide, HubSink, HubSource, WireSide
from newapi.relay.job import Job
from newapi.relay.translate import (
    StreamTranslator,
    completion_text_estimate,
    finish_body,
    load_json,
)
from newapi.routing.index import ChannelSnapshot


class Hubbed:
    """A :class:`~newapi.relay.translate.Translator` for one caller/wire pair via the hub."""

    def __init__(self, job: Job, caller: CallerSide, wire: WireSide, force_usage: bool) -> None:
        self.job, self.caller, self.wire, self.force_usage = job, caller, wire, force_usage

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        include = self.force_usage and adaptor.stream_usage
        hub = self.caller.to_hub(self.job, upstream_model, include)
        return finish_body(self.wire.request(hub, upstream_model, include), channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        if not isinstance(body, dict):
            return raw, Usage(self.job.counted_prompt(), 0, estimated=True)
        chat, usage = self.wire.answer(body)
        if usage.is_empty:
            completion = completion_text_estimate(chat)
            usage = Usage(self.job.counted_prompt(), completion, estimated=True)
        return orjson.dumps(self.caller.answer(self.job, chat)), usage

    def stream(self) -> StreamTranslator:
        return _HubStream(self.job, self.wire.source(self.job), self.caller.sink(self.job))


class _HubStream:
    def __init__(self, job: Job, source: HubSource, sink: HubSink) -> None:
        self.job, self.source, self.sink = job, source, sink
        self.served = False

    @property
    def finished(self) -> bool:
        return self.source.finished

    def event(self, raw: bytes) -> list[bytes]:
        out = [piece for chunk in self.source.feed(raw) for piece in self.sink.feed(chunk)]
        self.served = self.served or bool(out)
        return out

    def end(self) -> list[bytes]:
        tail = [piece for chunk in self.source.finish() for piece in self.sink.feed(chunk)]
        usage = self.usage() or Usage(self.job.counted_prompt(), 0, estimated=True)
        return tail + self.sink.end(usage)

    def fail(self, message: str) -> list[bytes]:
        return self.sink.fail(message)

    def usage(self) -> Usage | None:
        usage = self.source.usage()
        if usage is not None:
            return usage
        return Usage(self.job.counted_prompt(), 0, estimated=True) if self.served else None
