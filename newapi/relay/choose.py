"""Which translator serves one request on one channel: by the caller's format, the endpoint,
and what the channel's adaptor speaks."""

from __future__ import annotations

from newapi.adaptors.base import Adaptor, Call, wire_endpoint
from newapi.errors import InvalidRelayRequest
from newapi.relay.embeddings import embeddings_translator
from newapi.relay.hub import chat_translator
from newapi.relay.job import Job
from newapi.relay.translate import CallerFormat, OpenAIToOpenAI, Translator
from newapi.routing.index import ChannelSnapshot

CHAT_LIKE = frozenset({"chat/completions", "responses"})
COMPACT = "responses/compact"
# Endpoints that take stream_options.include_usage (the Responses API rejects it).
USAGE_OPTION = frozenset({"chat/completions", "completions"})


def wire_kind(adaptor: Adaptor, endpoint: str, upstream_model: str) -> str:
    """The format spoken on the wire: the adaptor's, with OpenAI's split into chat
    completions (``openai``) and the Responses API (``responses``)."""
    if endpoint == COMPACT:  # the Responses API's own: served where it is spoken
        speaks = adaptor.wire_format == "openai" and adaptor.responses != "no"
        return "responses" if speaks else adaptor.wire_format
    if adaptor.wire_format != "openai" or endpoint not in CHAT_LIKE:
        return adaptor.wire_format
    spoken = wire_endpoint(adaptor, Call(endpoint, upstream_model, False))
    return "responses" if spoken == "responses" else "openai"


class Translators:
    """One translator per wire kind met during the attempts of one request."""

    def __init__(
        self,
        job: Job,
        caller: CallerFormat,
        endpoint: str,
        force_option: bool,
        safety: str,
        gemini_action: str = "",
    ) -> None:
        self.job, self.caller, self.endpoint = job, caller, endpoint
        self.force_option, self.safety, self.gemini_action = force_option, safety, gemini_action
        self._made: dict[str, Translator | None] = {}

    def for_opened(self, adaptor: Adaptor, upstream_model: str) -> Translator:
        kind = wire_kind(adaptor, self.endpoint, upstream_model)
        made = self._make(kind)
        if made is None:  # only reachable for a wire body() refused: never opened
            raise InvalidRelayRequest(f"{self.endpoint} cannot be served in the {kind} format")
        return made

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes | None:
        if adaptor.endpoints is not None and self.endpoint not in adaptor.endpoints:
            return None
        made = self._make(wire_kind(adaptor, self.endpoint, upstream_model))
        return made.body(channel, adaptor, upstream_model) if made is not None else None

    def _make(self, kind: str) -> Translator | None:
        if kind not in self._made:
            self._made[kind] = self._choose(kind)
        return self._made[kind]

    def _choose(self, kind: str) -> Translator | None:
        caller, endpoint = self.caller, self.endpoint
        if endpoint == "embeddings" and (caller == "gemini" or kind == "gemini"):
            return embeddings_translator(self.job, caller, kind, self.gemini_action)
        if (caller, kind) in (("openai", "openai"), ("responses", "responses")):
            passthrough_usage = self.force_option and endpoint in USAGE_OPTION
            return OpenAIToOpenAI(self.job, passthrough_usage)
        if endpoint not in CHAT_LIKE:
            return None  # Claude and Gemini channels serve chat (and Gemini embeddings)
        return chat_translator(self.job, caller, kind, self.force_option, self.safety)
