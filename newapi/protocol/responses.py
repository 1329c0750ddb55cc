"""OpenAI Responses API wire conventions shared by both converter directions; sans I/O.

A Responses stream event travels as ``(event name, data)``; the data repeats the name in
``type`` and carries a ``sequence_number``.

The hub (OpenAI chat) knows only function tools, so two Responses tool kinds travel as
functions and are recognised on the way back by the tool names the caller declared:

- a *custom* (freeform) tool, such as Codex's ``apply_patch``, becomes a function with one
  required string parameter ``input``; its call's ``input`` text is that parameter's value.
- the built-in ``local_shell`` tool becomes a function named ``local_shell`` whose arguments
  are the ``exec`` action's fields (``command``, ``working_directory``, ``timeout_ms``, ``env``,
  ``user``).

Gemini's thought signatures (hub: a tool call's ``extra_content.google.thought_signature``)
must come back with the next request or Gemini 3 refuses it. A Responses caller keeps only
what Responses defines, so they ride in a reasoning item's ``encrypted_content``, marked by
:data:`SIGNATURES_PREFIX` (a real OpenAI reasoning blob never starts with it).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

JSONObject = dict[str, Any]
ResponsesEvent = tuple[str, JSONObject]

CUSTOM_INPUT: Final = "input"
LOCAL_SHELL: Final = "local_shell"
SIGNATURES_PREFIX: Final = "newapi.thought_signatures:"
ENCRYPTED_REASONING: Final = "reasoning.encrypted_content"

IncompleteReason = Literal["max_output_tokens", "content_filter"]


def custom_tool_parameters(tool: JSONObject) -> JSONObject:
    """The JSON schema a custom tool is declared with as a hub function (one string ``input``).

    A grammar (lark or regex) cannot be enforced by a function schema; it is told to the model
    in the parameter's description instead.
    """
    description = "The raw input of the tool, free-form text."
    fmt = tool.get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        syntax, definition = fmt.get("syntax"), fmt.get("definition")
        if isinstance(definition, str) and definition:
            description = f"Text matching this {syntax or 'grammar'} grammar:\n{definition}"
    return {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": description}},
        "required": [CUSTOM_INPUT],
        "additionalProperties": False,
    }


LOCAL_SHELL_PARAMETERS: Final = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"}},
        "working_directory": {"type": "string"},
        "timeout_ms": {"type": "integer"},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "user": {"type": "string"},
    },
    "required": ["command"],
}
LOCAL_SHELL_DESCRIPTION: Final = "Runs a shell command on the user's machine."


def custom_input(arguments: Any) -> str:
    """The freeform input of a custom tool called as a hub function (``{"input": "..."}``).

    Arguments that are not that object are passed on as they are: a model that ignored the
    schema still gets its text to the tool.
    """
    if not isinstance(arguments, str):
        return ""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(CUSTOM_INPUT), str):
        return parsed[CUSTOM_INPUT]
    return arguments


def custom_arguments(text: Any) -> str:
    """A custom tool call's ``input`` as hub function arguments."""
    value = text if isinstance(text, str) else ""
    return json.dumps({CUSTOM_INPUT: value}, ensure_ascii=False, separators=(",", ":"))


def local_shell_action(arguments: Any) -> JSONObject:
    """A hub ``local_shell`` call's arguments as a Responses ``exec`` action."""
    try:
        parsed = json.loads(arguments) if isinstance(arguments, str) else {}
    except ValueError:
        parsed = {}
    parsed = parsed if isinstance(parsed, dict) else {}
    command = parsed.get("command")
    if isinstance(command, str):
        command = ["bash", "-lc", command]
    action: JSONObject = {
        "type": "exec",
        "command": [str(c) for c in command] if isinstance(command, list) else [],
        "env": parsed["env"] if isinstance(parsed.get("env"), dict) else {},
    }
    for key in ("working_directory", "timeout_ms", "user"):
        if parsed.get(key) is not None:
            action[key] = parsed[key]
    return action


def local_shell_arguments(action: Any) -> str:
    """A Responses ``exec`` action as hub ``local_shell`` arguments."""
    action = action if isinstance(action, dict) else {}
    fields = {k: v for k, v in action.items() if k != "type" and v is not None}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def encode_signatures(signatures: dict[str, str]) -> str:
    """Thought signatures by call id, as a reasoning item's ``encrypted_content``."""
    return SIGNATURES_PREFIX + json.dumps(signatures, separators=(",", ":"))


def decode_signatures(encrypted: Any) -> dict[str, str]:
    """The signatures :func:`encode_signatures` wrote; anything else (OpenAI's own encrypted
    reasoning, which no other provider can read) gives none."""
    if not isinstance(encrypted, str) or not encrypted.startswith(SIGNATURES_PREFIX):
        return {}
    try:
        parsed = json.loads(encrypted[len(SIGNATURES_PREFIX) :])
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {k: v for k, v in parsed.items() if isinstance(k, str) and isinstance(v, str) and v}


def incomplete_reason(finish_reason: Any) -> IncompleteReason | None:
    """Why a chat answer that ended with ``finish_reason`` is an incomplete Response."""
    if finish_reason == "length":
        return "max_output_tokens"
    if finish_reason == "content_filter":
        return "content_filter"
    return None


def wants_encrypted_reasoning(request: JSONObject) -> bool:
    include = request.get("include")
    return isinstance(include, list) and ENCRYPTED_REASONING in include


def declared_tools(request: JSONObject) -> dict[str, str]:
    """Tool name -> kind (``function``, ``custom``, ``local_shell``) of a Responses request."""
    kinds: dict[str, str] = {}
    tools = request.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if kind == LOCAL_SHELL:
            kinds[LOCAL_SHELL] = LOCAL_SHELL
        elif kind in ("function", "custom") and isinstance(tool.get("name"), str):
            kinds[tool["name"]] = kind
    return kinds


# Models OpenAI serves only through the Responses API (a chat caller is converted for them).
RESPONSES_ONLY = ("gpt-5-pro", "o1-pro", "o3-pro", "o3-deep-research", "o4-mini-deep-research")


def responses_only(model: str) -> bool:
    """Whether OpenAI serves ``model`` only through ``/v1/responses`` (the codex models, the
    ``-pro`` and deep-research ones, computer use)."""
    name = model.lower()
    return "codex" in name or name.startswith((*RESPONSES_ONLY, "computer-use-preview"))
