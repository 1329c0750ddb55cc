"""Translation through the hub: caller format -> OpenAI chat (the hub) -> wire format, and back.

Every format is one *side*: a :class:`WireSide` turns a hub request into its upstream body and
its answers (plain or streamed) back into hub answers and hub chunks; a :class:`CallerSide`
turns a caller's request into a hub request and hub answers into the caller's format. Any
caller/wire pair is then one :class:`Hubbed` translator: a new format is one pair of sides,
not one converter per partner. Same format in and out never comes here (a passthrough).

Usage is always read on the wire side, in the upstream's own terms (Claude's cache writes,
Gemini's thought tokens), never re-derived from the hub's copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from newapi.relay.hub.claude import ClaudeCaller, ClaudeWire
from newapi.relay.hub.compose import Hubbed
from newapi.relay.hub.gemini import GeminiCaller, GeminiToGemini, GeminiWire
from newapi.relay.hub.openai import OpenAICaller, OpenAIWire
from newapi.relay.hub.responses import ResponsesCaller, ResponsesWire
from newapi.relay.hub.sides import CallerSide, WireSide
from newapi.relay.job import Job
from newapi.relay.translate import CallerFormat, Translator, passthrough

_CALLERS: Mapping[str, CallerSide] = MappingProxyType(
    {
        "openai": OpenAICaller(),
        "claude": ClaudeCaller(),
        "gemini": GeminiCaller(),
        "responses": ResponsesCaller(),
    }
)


def _wire_side(wire: str, safety_threshold: str) -> WireSide:
    if wire == "claude":
        return ClaudeWire()
    if wire == "gemini":
        return GeminiWire(safety_threshold)
    if wire == "responses":
        return ResponsesWire()
    return OpenAIWire()


def chat_translator(
    job: Job, caller: CallerFormat, wire: str, force_usage: bool, safety_threshold: str = "OFF"
) -> Translator:
    """The translator for a chat-like call: a passthrough when caller and wire agree, else
    through the hub."""
    if caller == wire:
        if caller == "gemini":
            return GeminiToGemini(job)
        return passthrough(job, "claude" if caller == "claude" else "openai", force_usage)
    return Hubbed(job, _CALLERS[caller], _wire_side(wire, safety_threshold), force_usage)
