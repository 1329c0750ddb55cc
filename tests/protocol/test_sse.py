from __future__ import annotations

import pytest

from newapi.protocol.sse import EventSplitter, encode, event_data, event_name


def test_events_split_across_reads_come_out_whole() -> None:
    splitter = EventSplitter()
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\n: comment\n\ndata: [DONE]\n\n'
    pieces = [stream[i : i + 5] for i in range(0, len(stream), 5)]
    events = [event for piece in pieces for event in splitter.feed(piece)]
    assert events == [
        b'data: {"a":1}\n\n',
        b'data: {"b":2}\n\n',
        b": comment\n\n",
        b"data: [DONE]\n\n",
    ]
    assert [event_data(e) for e in events] == [b'{"a":1}', b'{"b":2}', None, b"[DONE]"]


def test_crlf_and_named_events() -> None:
    splitter = EventSplitter()
    events = splitter.feed(b"event: message_start\r\ndata: {}\r\n\r\n")
    assert events == [b"event: message_start\ndata: {}\n\n"]
    assert event_name(events[0]) == "message_start"
    assert encode(b"{}", "ping") == b"event: ping\ndata: {}\n\n"


def test_oversize_event_is_refused() -> None:
    splitter = EventSplitter(max_event=10)
    with pytest.raises(ValueError):
        splitter.feed(b"data: " + b"x" * 20)


def test_unterminated_tail_is_returned() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b"data: 1\n\ndata: 2") == [b"data: 1\n\n"]
    assert splitter.rest() == b"data: 2"
