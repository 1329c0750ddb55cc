"""Server-sent events, incrementally (pure): split a byte stream into whole events."""

from __future__ import annotations

DONE = b"[DONE]"


class EventSplitter:
    """Feed bytes as they arrive; get each complete event (ending in a blank line) back whole.

    Events are returned as received, so a relay can forward them without re-serialising.
    ``\\r\\n`` line ends are normalised to ``\\n``. A single event larger than ``max_event``
    bytes raises ``ValueError`` instead of growing memory without bound.
    """

    def __init__(self, max_event: int = 128 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_event

    def feed(self, data: bytes) -> list[bytes]:
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        self._buffer += data
        events: list[bytes] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n\n", start)
            if end < 0:
                break
            events.append(bytes(self._buffer[start : end + 2]))
            start = end + 2
        if start:
            del self._buffer[:start]
        if len(self._buffer) > self._max:
            raise ValueError("a server-sent event exceeded the size limit")
        return events

    def rest(self) -> bytes:
        """What is left when the stream ends without a final blank line."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        return rest


def event_data(event: bytes) -> bytes | None:
    """The joined ``data:`` payload of one event, or None when it has none (a comment)."""
    parts = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            parts.append(line[5:].lstrip(b" "))
    return b"\n".join(parts) if parts else None


def event_name(event: bytes) -> str | None:
    for line in event.split(b"\n"):
        if line.startswith(b"event:"):
            return line[6:].strip().decode("utf-8", "replace")
    return None


def encode(data: bytes, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + data + b"\n\n"
