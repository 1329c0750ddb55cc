"""Event inspection and usage parsing (pure): beta and GA names, fast path and fallbacks."""

from __future__ import annotations

import base64

import orjson

from newapi.realtime.events import Inspector, RealtimeUsage, error_event, event_type, parse_usage


def frame(kind: str, **fields: object) -> str:
    return orjson.dumps({"type": kind, **fields}).decode()


def test_event_type_fast_path_and_full_parse() -> None:
    assert event_type(frame("response.done", response={})) == ("response.done", None)
    kind, parsed = event_type('{"event_id":"e1","response":{"type":"x"},"type":"response.done"}')
    assert kind == "response.done" and parsed is not None
    assert event_type("not json") == ("", None)
    assert event_type("[1,2]") == ("", None)


def test_usage_with_cached_split_and_audio() -> None:
    usage = parse_usage(
        {
            "input_tokens": 1000,
            "output_tokens": 500,
            "input_token_details": {
                "cached_tokens": 300,
                "text_tokens": 400,
                "audio_tokens": 600,
                "cached_tokens_details": {"text_tokens": 200, "audio_tokens": 100},
            },
            "output_token_details": {"text_tokens": 100, "audio_tokens": 400},
        }
    )
    assert usage == RealtimeUsage(400, 600, 200, 100, 100, 400)
    assert usage.as_usage().cache_read_tokens == 300 and usage.as_usage().prompt_tokens == 1000


def test_usage_without_details_and_with_odd_numbers() -> None:
    assert parse_usage({"input_tokens": 10, "output_tokens": 5}) == RealtimeUsage(10, 0, 0, 0, 5, 0)
    # cached without a breakdown: text first, then audio; never more than the input
    odd = parse_usage(
        {
            "input_tokens": 10,
            "output_tokens": -3,
            "input_token_details": {"cached_tokens": 50, "audio_tokens": 4},
        }
    )
    assert odd == RealtimeUsage(6, 4, 6, 4, 0, 0)
    assert parse_usage(None) is None


def test_inspector_bills_each_response_done_beta_and_ga() -> None:
    inspector = Inspector()
    usage = {"input_tokens": 3, "output_tokens": 4}
    for name in ("response.output_text.delta", "response.text.delta"):
        assert inspector.server_frame(frame(name, delta="hello")) is None
    turn = inspector.server_frame(frame("response.done", response={"id": "r1", "usage": usage}))
    assert turn is not None and turn.response_id == "r1"
    assert turn.usage == RealtimeUsage(text_in=3, text_out=4)
    assert inspector.server_frame(b"\x00\x01binary") is None


def test_inspector_counts_deltas_when_response_done_has_no_usage() -> None:
    inspector = Inspector()
    inspector.server_frame(frame("session.created", session={"output_audio_format": "pcm16"}))
    one_second = base64.b64encode(bytes(48_000)).decode()
    inspector.server_frame(frame("response.output_audio.delta", delta=one_second))
    inspector.server_frame(frame("response.audio_transcript.delta", delta="some words here"))
    turn = inspector.server_frame(frame("response.done", response={"id": "r2"}))
    assert turn is not None and turn.usage.estimated
    assert turn.usage.audio_out == round(200 / 0.24 / 60)  # ~14 tokens a second of pcm16
    assert turn.usage.text_out > 0 and turn.usage.input_tokens == 0
    after = inspector.server_frame(frame("response.done", response={"id": "r3"}))
    assert after is not None and after.usage.is_empty  # counters reset per response


def test_ga_session_audio_format() -> None:
    inspector = Inspector()
    session = {"audio": {"output": {"format": {"type": "audio/pcmu"}}}}
    inspector.server_frame(frame("session.updated", session=session))
    assert inspector.output_format == "g711_ulaw"


def test_error_event_shape() -> None:
    event = orjson.loads(error_event("req1", "out of quota", "insufficient_user_quota", "x"))
    assert event == {
        "type": "error",
        "event_id": "evt_req1",
        "error": {
            "message": "out of quota",
            "type": "x",
            "param": None,
            "code": "insufficient_user_quota",
        },
    }
