"""The two sides every format has in the hub: the caller side and the wire side."""

from __future__ import annotations

from typing import Any, Protocol

from newapi.protocol.usage import Usage
from newapi.relay.job import Job

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
