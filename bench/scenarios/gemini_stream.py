"""Gemini streaming: a Gemini caller (``streamGenerateContent?alt=sse``, ``x-goog-api-key``)
on a Gemini channel, which newapi passes through, against the same fake called directly.

The same 1-s stream (20 events, 50 ms apart) and the same figures and checks as the OpenAI
stream scenario (:func:`bench.scenarios.stream.measure`); the fake frames Gemini's events with
``\\r\\n\\r\\n`` as Google does, which the load generator counts as event ends too.
"""

from __future__ import annotations

from typing import Any

from bench import plan
from bench.context import Bench
from bench.scenarios.stream import Streams, measure

SCENARIO = "gemini stream"


def body() -> dict[str, Any]:
    """A ``GenerateContentRequest`` (the model is in the URL, not the body)."""
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


def streams(bench: Bench) -> Streams:
    """The scenario as :func:`measure` runs it, sized for this run (short or full)."""
    sizes = bench.sizes
    return Streams(
        name=SCENARIO,
        upstream_key=plan.GEMINI_STREAM_KEY,
        body=body(),
        url=lambda target: target.gemini_stream_url(plan.GEMINI_STREAM_MODEL),
        concurrency=sizes.gemini_stream_concurrency,
        seconds=sizes.gemini_stream_seconds,
        key_header="x-goog-api-key",
        nginx=sizes.gemini_stream_nginx,
    )


async def run(bench: Bench) -> None:
    await measure(bench, streams(bench))
