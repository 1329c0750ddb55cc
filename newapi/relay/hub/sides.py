"""The two sides every format has in the hub: the caller side and the wire side."""

from __future__ import annotations

from typing import Any, Protocol

from newapi.protocol import sse
from newapi.protocol.usage import Usage
from newapi.relay.job import Job
from newapi.relay.translate import load_json

JSON = dict[str, Any]


# ---- the sides -------------------------------------------------------------------------------


class HubSource(Protocol):
    """An upstream stream read as hub chunks."""

    finished: bool

    def feed(self, event: bytes) -> list[JSON]: ...

    def finish(self) -> list[JSON]: ...

    def usage(self) -> Usage | None: ...


class HubSink(Protocol):
    """Hub chunks written in the caller's stream format."""

    def feed(self, chunk: JSON) -> list[bytes]: ...

    def end(self, usage: Usage) -> list[bytes]: ...

    def fail(self, message: str) -> list[bytes]: ...


class WireSide(Protocol):
    def request(self, hub: JSON, upstream_model: str, force_usage: bool) -> JSON: ...

    def answer(self, body: JSON) -> tuple[JSON, Usage]: ...

    def source(self, job: Job) -> HubSource: ...


class CallerSide(Protocol):
    def to_hub(self, job: Job, upstream_model: str, include_usage: bool) -> JSON: ...

    def answer(self, job: Job, chat: JSON) -> JSON: ...

    def sink(self, job: Job) -> HubSink: ...


class StreamConverter(Protocol):
    """A pure stream converter of newapi.protocol.convert (parsed upstream events in, hub
    chunks out; an error event raises StreamError)."""

    @property
    def finished(self) -> bool: ...

    @property
    def usage(self) -> Usage: ...

    def feed(self, event: JSON) -> list[Any]: ...

    def finish(self) -> list[Any]: ...


class ConvertedSource:
    """A :class:`HubSource` over one stream converter: each SSE event's JSON data fed to it."""

    def __init__(self, converter: StreamConverter) -> None:
        self.converter = converter

    @property
    def finished(self) -> bool:
        return self.converter.finished

    def feed(self, event: bytes) -> list[JSON]:
        data = sse.event_data(event)
        parsed = load_json(data) if data else None
        if not isinstance(parsed, dict):
            return []
        return list(self.converter.feed(parsed))

    def finish(self) -> list[JSON]:
        return list(self.converter.finish())

    def usage(self) -> Usage | None:
        usage = self.converter.usage
        return None if usage.is_empty else usage
