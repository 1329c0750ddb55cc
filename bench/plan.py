"""What the bench provisions: upstream keys and their scenarios, channels, models, run sizes.

One model per scenario, served by channels whose keys the upstream answers in a fixed way, so
that a direct call (same key, same path) and a gateway call get the very same upstream work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.fakes import Scenario

# Non-streaming chat: an immediate answer.
CHAT_MODEL, CHAT_KEY = "bench-chat", "sk-bench-chat"
# Streaming latency: 20 content events, 50 ms apart (a 1-s stream; 20 ms gaps saturate one
# core at 200 streams, which the open-streams scenario measures as capacity instead).
STREAM_MODEL, STREAM_KEY = "bench-stream", "sk-bench-stream"
STREAM_CHUNKS, STREAM_CHUNK_DELAY = 20, 0.05
# Gemini streaming: the same 1-s stream from a Gemini channel (type 24) to a Gemini caller
# (``streamGenerateContent?alt=sse``), which newapi passes through without conversion.
GEMINI_STREAM_MODEL, GEMINI_STREAM_KEY = "bench-gemini-stream", "bench-gemini-stream-key"
GEMINI_CHANNEL_TYPE = 24
# Open streams: 2-second streams (20 events, 100 ms apart).
OPEN_MODEL, OPEN_KEY = "bench-open", "sk-bench-open"
OPEN_CHUNKS, OPEN_CHUNK_DELAY = 20, 0.1
OPEN_STREAM_SECONDS = OPEN_CHUNKS * OPEN_CHUNK_DELAY
# Fairness: weights 1:2:7 in the top tier, one channel in a lower tier.
FAIR_MODEL = "bench-fair"
FAIR_WEIGHTS = {"sk-fair-w1": 1, "sk-fair-w2": 2, "sk-fair-w7": 7}
FAIR_LOWER_KEY = "sk-fair-lower"
# Failover: three tiers; the upper two always fail (magic fail-<status> keys).
FAILOVER_MODEL = "bench-failover"
FAILOVER_TIERS = ("sk-fail-500-top", "sk-fail-429-mid", "sk-failover-ok")
FAILOVER_KEYS = frozenset(FAILOVER_TIERS)

# Realtime: websocket sessions; the fake echoes binary frames (per-frame round trips).
REALTIME_MODEL, REALTIME_KEY = "bench-realtime", "sk-bench-realtime"

MODELS = (
    CHAT_MODEL,
    STREAM_MODEL,
    GEMINI_STREAM_MODEL,
    OPEN_MODEL,
    FAIR_MODEL,
    FAILOVER_MODEL,
    REALTIME_MODEL,
)
CHAT_BODY = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]}
USER_QUOTA = 10**12
KEY_QUOTA = 10**11


def upstream_scenarios() -> dict[str, Scenario]:
    stream_text = "token " * STREAM_CHUNKS
    open_text = "token " * OPEN_CHUNKS
    return {
        CHAT_KEY: Scenario(text="Hello from the fake provider!", chunks=3),
        STREAM_KEY: Scenario(
            text=stream_text, chunks=STREAM_CHUNKS, chunk_delay=STREAM_CHUNK_DELAY
        ),
        # Gemini has no leading frame (OpenAI's role chunk): the first content chunk comes at
        # once, so the first event measures newapi, not the 50-ms gap.
        GEMINI_STREAM_KEY: Scenario(
            text=stream_text,
            chunks=STREAM_CHUNKS,
            chunk_delay=STREAM_CHUNK_DELAY,
            first_chunk_delay=0,
        ),
        OPEN_KEY: Scenario(text=open_text, chunks=OPEN_CHUNKS, chunk_delay=OPEN_CHUNK_DELAY),
    }


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    key: str
    model: str
    priority: int = 0
    weight: int = 0
    type: int = 1  # newapi's channel type (1 OpenAI, 24 Gemini)

    def body(self, base_url: str) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "key": self.key,
            "models": self.model,
            "group": "default",
            "base_url": base_url,
            "priority": self.priority,
            "weight": self.weight,
            "auto_ban": 0,
        }


def channels() -> list[ChannelSpec]:
    specs = [
        ChannelSpec("chat", CHAT_KEY, CHAT_MODEL),
        ChannelSpec("stream", STREAM_KEY, STREAM_MODEL),
        ChannelSpec(
            "gemini-stream", GEMINI_STREAM_KEY, GEMINI_STREAM_MODEL, type=GEMINI_CHANNEL_TYPE
        ),
        ChannelSpec("open", OPEN_KEY, OPEN_MODEL),
        ChannelSpec("realtime", REALTIME_KEY, REALTIME_MODEL),
        ChannelSpec("fair-lower", FAIR_LOWER_KEY, FAIR_MODEL, priority=0, weight=1),
    ]
    specs += [
        ChannelSpec(f"fair-{key}", key, FAIR_MODEL, priority=10, weight=weight)
        for key, weight in FAIR_WEIGHTS.items()
    ]
    specs += [
        ChannelSpec(f"failover-{index}", key, FAILOVER_MODEL, priority=20 - 10 * index)
        for index, key in enumerate(FAILOVER_TIERS)
    ]
    return specs


@dataclass(frozen=True, slots=True)
class Sizes:
    """How long and how hard each scenario runs (``--short`` or the full run)."""

    seconds: float  # one load run (per target, per concurrency)
    stream_seconds: float  # one streaming run (1-s streams: enough of them at concurrency 1)
    chat_concurrency: tuple[int, ...]
    stream_concurrency: tuple[int, ...]
    # The Gemini stream scenario, per target and concurrency. Its streams last 0.95 s (no wait
    # before the first event), so 2.5 s is three rounds per caller through newapi and directly
    # alike: a length near a multiple of 0.95 s lets one target fit a round more.
    gemini_stream_seconds: float
    gemini_stream_concurrency: tuple[int, ...]
    gemini_stream_nginx: bool  # measure the nginx floor for Gemini streams too
    open_levels: tuple[int, ...]
    open_rounds: int
    fair_picks: int
    fair_requests: int
    failover_requests: int
    h2_requests: int
    client_processes: int
    realtime_sessions: tuple[int, ...]  # sessions sending frames at once (latency figures)
    realtime_seconds: float
    realtime_idle: int  # idle sessions held at once


SHORT = Sizes(
    seconds=3.0,
    stream_seconds=4.0,
    chat_concurrency=(1, 50),
    stream_concurrency=(1, 100),
    gemini_stream_seconds=2.5,
    # c=1 only: the c=100 gap ratio is unsteady on a shared box (bench/README.md); the full
    # run measures it
    gemini_stream_concurrency=(1,),
    gemini_stream_nginx=False,
    open_levels=(200,),
    open_rounds=2,
    fair_picks=100_000,
    fair_requests=3_000,
    failover_requests=30,
    h2_requests=200,
    client_processes=1,
    realtime_sessions=(100,),
    realtime_seconds=2.0,
    realtime_idle=200,
)
FULL = Sizes(
    seconds=10.0,
    stream_seconds=15.0,
    chat_concurrency=(1, 50, 200),
    stream_concurrency=(1, 200, 2000),
    gemini_stream_seconds=15.0,
    gemini_stream_concurrency=(1, 200),
    gemini_stream_nginx=True,
    open_levels=(250, 500, 1000, 2000, 3000),
    open_rounds=3,
    fair_picks=1_000_000,
    fair_requests=10_000,
    failover_requests=200,
    h2_requests=1_000,
    client_processes=2,
    realtime_sessions=(1, 100),
    realtime_seconds=10.0,
    realtime_idle=1_000,
)
