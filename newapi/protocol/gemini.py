"""Gemini ``generateContent`` wire shapes and small pure helpers; sans I/O.

The TypedDicts document what the converters read and write (Gemini API v1beta, the same JSON on
Vertex AI); at runtime they are plain dicts. Field names are camelCase as Google serialises them.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Final, Literal, TypedDict

from newapi.protocol.openai import FinishReason, JSONObject

__all__ = [
    "FINISH_REASONS_TO_OPENAI",
    "SAFETY_CATEGORIES",
    "Candidate",
    "Content",
    "GenerateContentRequest",
    "GenerateContentResponse",
    "Part",
    "UsageMetadata",
    "clean_schema",
    "finish_reason_from_gemini",
    "finish_reason_to_gemini",
    "thinking_suffix",
]


class Blob(TypedDict):
    mimeType: str
    data: str  # base64


class FileData(TypedDict, total=False):
    mimeType: str
    fileUri: str


class FunctionCall(TypedDict, total=False):
    id: str
    name: str
    args: JSONObject


class FunctionResponse(TypedDict, total=False):
    id: str
    name: str
    response: JSONObject


class Part(TypedDict, total=False):
    """Exactly one of text / inlineData / fileData / functionCall / functionResponse."""

    text: str
    thought: bool  # the text is a thought summary
    thoughtSignature: str  # opaque; must be sent back on the same part next turn
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse


class Content(TypedDict, total=False):
    role: Literal["user", "model"]
    parts: list[Part]


class ThinkingConfig(TypedDict, total=False):
    includeThoughts: bool
    thinkingBudget: int  # -1 dynamic, 0 off (not on 2.5 Pro)
    thinkingLevel: str  # gemini-3: "low" | "high" (Flash also "minimal", "medium")


class GenerationConfig(TypedDict, total=False):
    temperature: float
    topP: float
    topK: int
    maxOutputTokens: int
    stopSequences: list[str]
    candidateCount: int
    seed: int
    presencePenalty: float
    frequencyPenalty: float
    responseMimeType: str
    responseSchema: JSONObject
    thinkingConfig: ThinkingConfig


class GenerateContentRequest(TypedDict, total=False):
    contents: list[Content]
    systemInstruction: Content
    tools: list[JSONObject]  # {"functionDeclarations": [...]} | {"googleSearch": {}} | ...
    toolConfig: JSONObject  # {"functionCallingConfig": {"mode", "allowedFunctionNames"}}
    generationConfig: GenerationConfig
    safetySettings: list[JSONObject]  # {"category", "threshold"}


class UsageMetadata(TypedDict, total=False):
    promptTokenCount: int  # includes cachedContentTokenCount
    candidatesTokenCount: int  # excludes thoughtsTokenCount
    thoughtsTokenCount: int
    toolUsePromptTokenCount: int
    cachedContentTokenCount: int
    totalTokenCount: int
    promptTokensDetails: list[JSONObject]  # {"modality": "TEXT" | "AUDIO" | ..., "tokenCount"}
    candidatesTokensDetails: list[JSONObject]


class Candidate(TypedDict, total=False):
    content: Content
    finishReason: str
    index: int


class GenerateContentResponse(TypedDict, total=False):
    candidates: list[Candidate]
    promptFeedback: JSONObject  # {"blockReason": ...} when the prompt itself was blocked
    usageMetadata: UsageMetadata
    modelVersion: str
    responseId: str


SAFETY_CATEGORIES: Final = (
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY",
)

FINISH_REASONS_TO_OPENAI: Final = MappingProxyType(
    {
        "STOP": "stop",
        "MAX_TOKENS": "length",
        "SAFETY": "content_filter",
        "RECITATION": "content_filter",
        "BLOCKLIST": "content_filter",
        "PROHIBITED_CONTENT": "content_filter",
        "SPII": "content_filter",
        "IMAGE_SAFETY": "content_filter",
    }
)


def finish_reason_from_gemini(reason: Any, *, has_tool_calls: bool = False) -> FinishReason:
    """A Gemini ``finishReason`` as OpenAI's; Gemini says STOP after function calls."""
    mapped = FINISH_REASONS_TO_OPENAI.get(reason, "stop") if isinstance(reason, str) else "stop"
    if mapped == "stop" and has_tool_calls:
        return "tool_calls"
    return mapped  # type: ignore[return-value]


def finish_reason_to_gemini(reason: Any) -> str:
    """An OpenAI ``finish_reason`` as Gemini's (tool calls end with STOP on Gemini)."""
    match reason:
        case "length":
            return "MAX_TOKENS"
        case "content_filter":
            return "SAFETY"
        case _:
            return "STOP"


_THINKING_BUDGET = re.compile(r"^(?P<base>.+)-thinking-(?P<budget>\d+)$")


def thinking_suffix(model: str) -> tuple[str, JSONObject | None]:
    """new-api's Gemini model suffixes -> (base model, ``thinkingConfig`` or None).

    ``-thinking`` asks for dynamic thinking (budget -1), ``-thinking-<N>`` for a budget of N
    tokens, both with thought summaries; ``-nothinking`` turns thinking off (budget 0).
    """
    if model.endswith("-nothinking") and len(model) > len("-nothinking"):
        return model[: -len("-nothinking")], {"thinkingBudget": 0}
    matched = _THINKING_BUDGET.match(model)
    if matched:
        budget = int(matched["budget"])
        return matched["base"], {"thinkingBudget": budget, "includeThoughts": True}
    if model.endswith("-thinking") and len(model) > len("-thinking"):
        return model[: -len("-thinking")], {"thinkingBudget": -1, "includeThoughts": True}
    return model, None


# JSON Schema keywords Gemini's OpenAPI-subset Schema refuses with a 400.
_REFUSED_SCHEMA_KEYS: Final = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "additionalProperties",
        "strict",
        "patternProperties",
        "unevaluatedProperties",
        "examples",
        "const",
    }
)
_SCHEMA_LISTS: Final = ("anyOf", "oneOf", "allOf")


def clean_schema(schema: Any) -> Any:
    """A JSON schema Gemini accepts as ``parameters`` / ``responseSchema``.

    Refused keywords are dropped at every level (never property *names*: a property may be
    called ``strict``); ``const`` becomes a one-value ``enum``; a type list such as
    ``["string", "null"]`` becomes ``type`` + ``nullable``.
    """
    if not isinstance(schema, dict):
        return schema
    cleaned: JSONObject = {}
    for key, value in schema.items():
        if key in _REFUSED_SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            cleaned[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key == "items":
            cleaned[key] = clean_schema(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            cleaned[key] = [clean_schema(sub) for sub in value]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                cleaned[key] = types[0]
            if len(types) < len(value):
                cleaned["nullable"] = True
        else:
            cleaned[key] = value
    if "const" in schema and "enum" not in schema:
        cleaned["enum"] = [schema["const"]]
    return cleaned
