"""Embeddings across formats: OpenAI callers on Gemini channels, Gemini callers on OpenAI
channels, and Gemini to Gemini untouched. Gemini reports no usage for embeddings: the input is
counted locally (and marked estimated in the log)."""

from __future__ import annotations

import orjson

from newapi.adaptors.base import Adaptor
from newapi.protocol.convert import (
    embed_request_to_openai,
    embeddings_request_to_gemini,
    gemini_embeddings_to_openai,
    openai_embeddings_to_gemini,
)
from newapi.protocol.usage import Usage, from_openai
from newapi.relay.job import Job
from newapi.relay.translate import (
    OpenAIToOpenAI,
    StreamTranslator,
    Translator,
    finish_body,
    load_json,
)
from newapi.routing.index import ChannelSnapshot

BATCH = "batchEmbedContents"


def _counted(job: Job) -> Usage:
    return Usage(job.prompt_estimate, 0, estimated=True)


class OpenAIToGeminiEmbeddings:
    def __init__(self, job: Job) -> None:
        self.job = job

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        body = embeddings_request_to_gemini(self.job.body, upstream_model=upstream_model)
        return finish_body(body, channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        if not isinstance(body, dict):
            return raw, _counted(self.job)
        answer = gemini_embeddings_to_openai(
            body, model=self.job.model, prompt_tokens=self.job.prompt_estimate
        )
        return orjson.dumps(answer), _counted(self.job)

    def stream(self) -> StreamTranslator:  # embeddings never stream
        return OpenAIToOpenAI(self.job, False).stream()


class GeminiToOpenAIEmbeddings:
    def __init__(self, job: Job, batch: bool) -> None:
        self.job, self.batch = job, batch

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        body = embed_request_to_openai(
            self.job.body, upstream_model=upstream_model, batch=self.batch
        )
        return finish_body(body, channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        body = load_json(raw)
        if not isinstance(body, dict):
            return raw, _counted(self.job)
        usage = from_openai(body.get("usage"))
        answer = openai_embeddings_to_gemini(body, batch=self.batch)
        return orjson.dumps(answer), _counted(self.job) if usage.is_empty else usage

    def stream(self) -> StreamTranslator:
        return OpenAIToOpenAI(self.job, False).stream()


class GeminiEmbeddings:
    """A Gemini caller's embedContent / batchEmbedContents on a Gemini channel: untouched."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def body(self, channel: ChannelSnapshot, adaptor: Adaptor, upstream_model: str) -> bytes:
        return finish_body(dict(self.job.body), channel, adaptor)

    def plain(self, raw: bytes) -> tuple[bytes, Usage]:
        return raw, _counted(self.job)

    def stream(self) -> StreamTranslator:
        return OpenAIToOpenAI(self.job, False).stream()


def embeddings_translator(job: Job, caller: str, wire: str, action: str) -> Translator | None:
    """None when the pair cannot embed (a Claude channel)."""
    if wire == "claude":
        return None
    if caller == "gemini":
        return (
            GeminiEmbeddings(job)
            if wire == "gemini"
            else GeminiToOpenAIEmbeddings(job, action == BATCH)
        )
    return OpenAIToGeminiEmbeddings(job) if wire == "gemini" else OpenAIToOpenAI(job, False)
