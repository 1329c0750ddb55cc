"""What Google's API refuses before generating: the checks a Gemini or Vertex body must pass.

Google parses bodies as proto3 JSON, so every field may be spelled camelCase or snake_case
(``maxOutputTokens`` or ``max_output_tokens``) and numbers may come as strings; unknown names
are refused. Refusals are 400 ``INVALID_ARGUMENT`` with Google's own messages, and a request
without credentials is refused as each front end does (Gemini: 403, Vertex: 401).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from bench.fakes.errors import GoogleError

_ROLES = ("user", "model")
_FLOAT, _INT, _BOOL, _STRING = "TYPE_FLOAT", "TYPE_INT32", "TYPE_BOOL", "TYPE_STRING"
_LIST, _OBJECT, _ANY = "list", "object", "any"

# generationConfig fields (v1beta and Vertex v1) and the proto type each must parse as.
_GENERATION_CONFIG: dict[str, str] = {
    "stopSequences": _LIST,
    "responseMimeType": _STRING,
    "responseSchema": _OBJECT,
    "responseJsonSchema": _ANY,
    "responseModalities": _LIST,
    "candidateCount": _INT,
    "maxOutputTokens": _INT,
    "temperature": _FLOAT,
    "topP": _FLOAT,
    "topK": _INT,
    "seed": _INT,
    "presencePenalty": _FLOAT,
    "frequencyPenalty": _FLOAT,
    "responseLogprobs": _BOOL,
    "logprobs": _INT,
    "enableEnhancedCivicAnswers": _BOOL,
    "speechConfig": _OBJECT,
    "thinkingConfig": _OBJECT,
    "imageConfig": _OBJECT,
    "mediaResolution": _STRING,
    "audioTimestamp": _BOOL,
    "routingConfig": _OBJECT,
    "modelSelectionConfig": _OBJECT,
}
_THINKING_CONFIG = {"includeThoughts": _BOOL, "thinkingBudget": _INT, "thinkingLevel": _STRING}

_MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for "
    "tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def snake(name: str) -> str:
    """``maxOutputTokens`` -> ``max_output_tokens`` (the proto field name)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def field(obj: Mapping[str, Any], name: str) -> Any:
    """A proto JSON field by its camelCase name, also found under its snake_case name."""
    if name in obj:
        return obj[name]
    return obj.get(snake(name))


def google_key(request: web.Request) -> str:
    """The API key as Google reads it: the ``x-goog-api-key`` header, else ``?key=``."""
    return request.headers.get("x-goog-api-key") or request.query.get("key", "")


def missing_key() -> GoogleError:
    """Gemini's (and Vertex express mode's) answer to a call without any key."""
    return GoogleError(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


def invalid(message: str) -> GoogleError:
    return GoogleError(400, message)


def _parses_as(kind: str, value: Any) -> bool:
    if kind == _ANY:
        return True
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _STRING:
        return isinstance(value, str)
    if kind == _LIST:
        return isinstance(value, list)
    if kind == _OBJECT:
        return isinstance(value, dict)
    if isinstance(value, str):  # proto3 JSON takes numbers as strings too
        value = _number(value)
    if kind == _INT:
        is_whole = isinstance(value, float) and value.is_integer()
        return (isinstance(value, int) and not isinstance(value, bool)) or is_whole
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_fields(
    obj: Mapping[str, Any], known: Mapping[str, str], where: str
) -> GoogleError | None:
    spellings = {name: name for name in known} | {snake(name): name for name in known}
    for name, value in obj.items():
        camel = spellings.get(name)
        if camel is None:
            return invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': "
                "Cannot find field."
            )
        if not _parses_as(known[camel], value):
            shown = orjson.dumps(value).decode()
            return invalid(f"Invalid value at '{where}.{snake(camel)}' ({known[camel]}), {shown}")
    return None


def check_generation_config(body: Mapping[str, Any]) -> GoogleError | None:
    config = field(body, "generationConfig")
    if config is None:
        return None
    if not isinstance(config, dict):
        return invalid(
            f"Invalid value at 'generation_config' (type.googleapis.com/"
            f"google.ai.generativelanguage.v1beta.GenerationConfig), "
            f"{orjson.dumps(config).decode()}"
        )
    problem = _check_fields(config, _GENERATION_CONFIG, "generation_config")
    thinking = field(config, "thinkingConfig")
    if problem is None and isinstance(thinking, dict):
        problem = _check_fields(thinking, _THINKING_CONFIG, "generation_config.thinking_config")
    return problem


def check_contents(
    contents: Any, request_name: str = "GenerateContentRequest"
) -> GoogleError | None:
    """``contents`` present, a list of contents with a known role and non-empty parts."""
    if not contents:
        return invalid(f"* {request_name}.contents: contents is not specified\n")
    if not isinstance(contents, list):
        return invalid("Invalid JSON payload received. Expected an array for 'contents'.")
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            return invalid(
                f"Invalid value at 'contents[{index}]' (type.googleapis.com/"
                "google.ai.generativelanguage.v1beta.Content)"
            )
        role = content.get("role")
        if role not in (None, "", *_ROLES):
            return invalid("Please use a valid role: user, model.")
        if not content.get("parts"):
            return invalid(
                f"* {request_name}.contents[{index}].parts: contents.parts must not be empty.\n"
            )
    return None


def wants_thoughts(body: Mapping[str, Any]) -> bool:
    """``generationConfig.thinkingConfig.includeThoughts`` is true."""
    config = field(body, "generationConfig")
    thinking = field(config, "thinkingConfig") if isinstance(config, dict) else None
    return isinstance(thinking, dict) and field(thinking, "includeThoughts") is True


def signs_function_calls(model: str) -> bool:
    """Gemini 3 models sign their function calls and insist on getting the signatures back."""
    return model.removeprefix("models/").startswith("gemini-3")


def _starts_turn(content: Mapping[str, Any]) -> bool:
    """A user content with something besides function responses opens a new turn."""
    if content.get("role") == "model":
        return False
    parts = content.get("parts") or []
    return any(isinstance(p, dict) and field(p, "functionResponse") is None for p in parts)


def check_thought_signatures(contents: list[Any]) -> GoogleError | None:
    """Gemini 3's rule: in the current turn (since the last user text), the first
    ``functionCall`` part of every model step must carry its ``thoughtSignature`` (in parallel
    calls only the first part is signed, so only the first is checked)."""
    start = max((i for i, c in enumerate(contents) if _starts_turn(c)), default=-1)
    for position, content in enumerate(contents[start + 1 :], start + 1):
        if content.get("role") != "model":
            continue
        calls = [p for p in content["parts"] if isinstance(p, dict) and field(p, "functionCall")]
        if calls and not field(calls[0], "thoughtSignature"):
            name = field(calls[0], "functionCall").get("name", "")
            return invalid(_MISSING_SIGNATURE.format(name=name, position=position))
    return None


def check_generate(body: Mapping[str, Any], model: str) -> GoogleError | None:
    """A generateContent / streamGenerateContent body as Google validates it."""
    contents = field(body, "contents")
    problem = check_contents(contents) or check_generation_config(body)
    if problem is None and signs_function_calls(model):
        problem = check_thought_signatures(contents)
    return problem


def _check_embed_request(request: Any, name: str) -> GoogleError | None:
    if not isinstance(request, dict) or not field(request, "content"):
        return invalid(f"* {name}.content: content is not specified\n")
    parts = field(request, "content").get("parts") if isinstance(request["content"], dict) else None
    if not parts:
        return invalid(f"* {name}.content.parts: contents.parts must not be empty.\n")
    dimensions = field(request, "outputDimensionality")
    if dimensions is not None and not (_parses_as(_INT, dimensions) and float(dimensions) > 0):
        shown = orjson.dumps(dimensions).decode()
        return invalid(f"Invalid value at 'output_dimensionality' (TYPE_INT32), {shown}")
    return None


def check_count(body: Mapping[str, Any]) -> GoogleError | None:
    """countTokens takes ``contents``, or a whole ``generateContentRequest``."""
    inner = field(body, "generateContentRequest")
    if isinstance(inner, dict):
        return check_contents(field(inner, "contents")) or check_generation_config(inner)
    return check_contents(field(body, "contents"), "CountTokensRequest")


def check_embed(body: Mapping[str, Any]) -> GoogleError | None:
    return _check_embed_request(body, "EmbedContentRequest")


def check_batch_embed(body: Mapping[str, Any]) -> GoogleError | None:
    requests = field(body, "requests")
    if not requests or not isinstance(requests, list):
        return invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n")
    for index, request in enumerate(requests):
        problem = _check_embed_request(request, f"BatchEmbedContentsRequest.requests[{index}]")
        if problem is not None:
            return problem
    return None
