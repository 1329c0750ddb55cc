"""The load generator's pure parts: event counting on both SSE line endings, key headers."""

from __future__ import annotations

import pytest

from bench import loadgen


@pytest.mark.parametrize(
    ("data", "events"),
    [
        (b'data: {"a":1}\n\n', 1),
        (b'data: {"a":1}\r\n\r\n', 1),  # Google's alt=sse framing
        (b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\n', 2),
        (b"event: x\ndata: 1\n\ndata: [DONE]\n\n", 2),
        (b'data: {"a":1}\r\n', 0),  # an event not yet ended
        (b"", 0),
    ],
)
def test_count_events_ends_events_on_blank_lines(data: bytes, events: int) -> None:
    assert loadgen.count_events(data) == events


def test_key_headers_bearer_or_named_header() -> None:
    spec = loadgen.Spec(url="http://x", key="k1", body={}, concurrency=1)
    assert loadgen.key_headers(spec) == {"Authorization": "Bearer k1"}
    google = loadgen.Spec(
        url="http://x", key="k2", body={}, concurrency=1, key_header="x-goog-api-key"
    )
    assert loadgen.key_headers(google) == {"x-goog-api-key": "k2"}
