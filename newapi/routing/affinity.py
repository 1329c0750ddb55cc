"""Channel affinity for prompt caches: the requests of one conversation go back to the channel
(and the key of a multi-key channel) that served it before, so the provider's prompt cache hits
(pure: no I/O; the store is :mod:`newapi.relay.affinity`).

new-api's ``channel_affinity_setting`` rules are read as they are stored: a rule matches on
the model (``model_regex``; an empty list matches nothing, as in new-api), the path
(``path_regex``; empty matches every path) and the User-Agent; its first non-empty key source
names the conversation. Where this improves on new-api:

* The key index is remembered with the channel: on a multi-key channel the cache belongs to
  one upstream account, and new-api's channel-only memory spread a conversation over its keys.
* A failed remembered channel fails over as any other attempt (``skip_retry_on_failure`` is
  off in the default rules; new-api's defaults answered the error instead), and the
  conversation then sticks to the channel that served the retry.
* A ``prompt_prefix`` key source: a digest of a bounded prefix of the prompt (system, tools,
  the first messages), for callers that send no conversation id. At most
  :data:`PREFIX_BUDGET` bytes of text are hashed however large the body is.
* Values are hashed into the store key (no conversation ids or prompts in Redis keys), and
  ``include_token_id`` scopes a rule to one token (the default rules all do).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from newapi.routing.index import Tier

PREFIX = "channel_affinity_setting."
NAMESPACE = "newapi:channel_affinity:v1:"
DEFAULT_TTL_SECONDS = 3600
DEFAULT_MAX_ENTRIES = 100_000
PREFIX_BUDGET = 4096  # bytes of text hashed per part of a prompt prefix (three parts)
_LEAD_ITEMS = 4  # at most this many leading messages/items enter a prompt prefix
_SYSTEM_ROLES = frozenset({"system", "developer"})
_SYSTEM_FIELDS = ("system", "instructions", "systemInstruction", "system_instruction")

_CHAT_PATHS = ["^/v1/chat/completions$", "^/v1/completions$", "^/v1/responses"]
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "codex cli trace",
        "model_regex": [".*"],
        "path_regex": ["^/v1/responses"],
        "key_sources": [
            {"type": "gjson", "path": "prompt_cache_key"},
            {"type": "request_header", "key": "session_id"},
        ],
        "include_using_group": True,
        "include_rule_name": True,
        "include_token_id": True,
    },
    {
        "name": "claude cli trace",
        "model_regex": [".*"],
        "path_regex": ["^/v1/messages$"],
        # Claude Code puts its session id into metadata.user_id on every request.
        "key_sources": [
            {"type": "gjson", "path": "metadata.user_id"},
            {"type": "request_header", "key": "x-claude-code-session-id"},
        ],
        "include_using_group": True,
        "include_rule_name": True,
        "include_token_id": True,
    },
    {
        "name": "openai prompt_cache_key",
        "model_regex": [".*"],
        "path_regex": _CHAT_PATHS,
        "key_sources": [
            {"type": "gjson", "path": "prompt_cache_key"},
            {"type": "gjson", "path": "user"},
        ],
        "include_using_group": True,
        "include_rule_name": True,
        "include_token_id": True,
    },
    {
        "name": "prompt prefix",
        "model_regex": [".*"],
        "path_regex": [],
        "key_sources": [{"type": "prompt_prefix"}],
        "include_using_group": True,
        "include_model_name": True,
        "include_rule_name": True,
        "include_token_id": True,
    },
]

# Option key -> default string, as new-api's config manager stores them.
OPTION_DEFAULTS: dict[str, str] = {
    PREFIX + "enabled": "true",
    PREFIX + "switch_on_success": "true",
    PREFIX + "keep_on_channel_disabled": "false",
    PREFIX + "max_entries": str(DEFAULT_MAX_ENTRIES),
    PREFIX + "default_ttl_seconds": str(DEFAULT_TTL_SECONDS),
    PREFIX + "rules": json.dumps(DEFAULT_RULES, separators=(",", ":")),
}


@dataclass(frozen=True, slots=True)
class KeySource:
    type: str  # context_int, context_string, request_header, gjson, prompt_prefix
    key: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    model_regex: tuple[str, ...] = ()
    path_regex: tuple[str, ...] = ()
    user_agent_include: tuple[str, ...] = ()
    key_sources: tuple[KeySource, ...] = ()
    value_regex: str = ""
    ttl_seconds: int = 0
    skip_retry_on_failure: bool = False
    include_using_group: bool = False
    include_model_name: bool = False
    include_rule_name: bool = False
    include_token_id: bool = False


@dataclass(frozen=True, slots=True)
class AffinitySettings:
    enabled: bool = True
    switch_on_success: bool = True
    keep_on_channel_disabled: bool = False
    max_entries: int = DEFAULT_MAX_ENTRIES
    default_ttl_seconds: int = DEFAULT_TTL_SECONDS
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a rule can look at: the request and who sent it."""

    path: str
    model: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]  # lower-case names
    token_id: int = 0
    user_id: int = 0
    group: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    """A request that belongs to a conversation: where its affinity is stored, for how long."""

    cache_key: str
    rule_name: str
    ttl_seconds: int
    skip_retry_on_failure: bool
    key_source: str
    key_fp: str  # a short fingerprint of the conversation value (for logs and admins)
    # Whether to go back to the remembered channel. A prompt-prefix key only follows on a
    # later turn: a first turn (or a repeated one-shot prompt) is spread by weight as usual.
    follow: bool = True


@dataclass(frozen=True, slots=True)
class Remembered:
    """The channel and key that last served a conversation (``written``: unix seconds)."""

    channel_id: int
    key_index: int = 0
    key_fp: str = ""  # fingerprint of that key: a re-ordered key list does not mislead
    written: float = 0.0

    def encode(self) -> bytes:
        return json.dumps(
            {"c": self.channel_id, "k": self.key_index, "f": self.key_fp, "t": self.written},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> Remembered | None:
        """A stored value; None for nothing or garbage (new-api stores a bare channel id)."""
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return cls(value)
        if not isinstance(value, dict) or not _positive_int(value.get("c")):
            return None
        key_index = value.get("k")
        written = value.get("t")
        return cls(
            value["c"],
            key_index if _positive_int(key_index) or key_index == 0 else 0,
            str(value.get("f") or ""),
            float(written) if isinstance(written, int | float) else 0.0,
        )


@dataclass(frozen=True, slots=True)
class Preference:
    """What the attempt loop needs: try ``remembered`` first; maybe no retry after it fails."""

    remembered: Remembered
    skip_retry_on_failure: bool = False

    @property
    def channel_id(self) -> int:
        return self.remembered.channel_id


# ---- settings --------------------------------------------------------------------------------


def settings_from(read: Callable[[str], str]) -> AffinitySettings:
    """The settings from option strings (``read(key)``); a malformed value means its default."""
    raw_rules = _json_or(read(PREFIX + "rules"), DEFAULT_RULES)
    return AffinitySettings(
        enabled=_bool(read(PREFIX + "enabled"), True),
        switch_on_success=_bool(read(PREFIX + "switch_on_success"), True),
        keep_on_channel_disabled=_bool(read(PREFIX + "keep_on_channel_disabled"), False),
        max_entries=_int(read(PREFIX + "max_entries"), DEFAULT_MAX_ENTRIES),
        default_ttl_seconds=_int(read(PREFIX + "default_ttl_seconds"), DEFAULT_TTL_SECONDS),
        rules=tuple(rule_from(raw) for raw in raw_rules if isinstance(raw, dict)),
    )


def rule_from(raw: Mapping[str, Any]) -> Rule:
    """One rule as new-api stores it; unknown fields (``param_override_template``) are ignored."""
    sources = raw.get("key_sources")
    return Rule(
        name=str(raw.get("name") or "").strip(),
        model_regex=_strings(raw.get("model_regex")),
        path_regex=_strings(raw.get("path_regex")),
        user_agent_include=_strings(raw.get("user_agent_include")),
        key_sources=tuple(
            KeySource(str(s.get("type") or ""), str(s.get("key") or ""), str(s.get("path") or ""))
            for s in (sources if isinstance(sources, list) else [])
            if isinstance(s, dict)
        ),
        value_regex=str(raw.get("value_regex") or ""),
        ttl_seconds=_int(raw.get("ttl_seconds"), 0),
        skip_retry_on_failure=raw.get("skip_retry_on_failure") is True,
        include_using_group=raw.get("include_using_group") is True,
        include_model_name=raw.get("include_model_name") is True,
        include_rule_name=raw.get("include_rule_name") is True,
        include_token_id=raw.get("include_token_id") is True,
    )


def _json_or(text: str, default: list[dict[str, Any]]) -> list[Any]:
    try:
        value = json.loads(text) if text else default
    except ValueError:
        return default
    return value if isinstance(value, list) else default


def _bool(text: str, default: bool) -> bool:
    lowered = text.strip().lower()
    return default if lowered not in ("true", "false") else lowered == "true"


def _int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(str(item) for item in items if isinstance(item, str) and item.strip())


# ---- matching --------------------------------------------------------------------------------


def match(settings: AffinitySettings, facts: RequestFacts) -> Match | None:
    """The first rule that names this request's conversation, as a store key; else None."""
    if not settings.enabled:
        return None
    agent = facts.headers.get("user-agent", "").lower()
    for rule in settings.rules:
        if not _any_search(rule.model_regex, facts.model):
            continue
        if rule.path_regex and not _any_search(rule.path_regex, facts.path):
            continue
        if rule.user_agent_include and not any(
            part.lower() in agent for part in rule.user_agent_include
        ):
            continue
        source, value = _first_value(rule.key_sources, facts)
        if not value or (rule.value_regex and not _any_search((rule.value_regex,), value)):
            continue
        ttl = rule.ttl_seconds or settings.default_ttl_seconds or DEFAULT_TTL_SECONDS
        return Match(
            cache_key=NAMESPACE + _key_suffix(rule, facts, value),
            rule_name=rule.name,
            ttl_seconds=ttl,
            skip_retry_on_failure=rule.skip_retry_on_failure,
            key_source=source.type,
            key_fp=fingerprint(value),
            follow=source.type != "prompt_prefix" or is_continuation(facts.body),
        )
    return None


def _key_suffix(rule: Rule, facts: RequestFacts, value: str) -> str:
    parts = []
    if rule.include_rule_name and rule.name:
        parts.append(rule.name)
    if rule.include_model_name and facts.model:
        parts.append(facts.model)
    if rule.include_using_group and facts.group:
        parts.append(facts.group)
    if rule.include_token_id:
        parts.append(f"t{facts.token_id}")
    parts.append(hashlib.sha256(value.encode()).hexdigest()[:32])
    return ":".join(parts)


def rule_prefix(rule_name: str) -> str:
    """The store-key prefix of a rule's entries (rules with ``include_rule_name``)."""
    return f"{NAMESPACE}{rule_name}:"


def fingerprint(value: str) -> str:
    """Eight hex digits naming ``value`` without revealing it."""
    return hashlib.sha1(value.encode(), usedforsecurity=False).hexdigest()[:8]


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # as new-api: a pattern that does not compile matches nothing


def _any_search(patterns: Iterable[str], text: str) -> bool:
    if not text:
        return False
    for pattern in patterns:
        compiled = _compiled(pattern)
        if compiled is not None and compiled.search(text):
            return True
    return False


def _first_value(sources: Sequence[KeySource], facts: RequestFacts) -> tuple[KeySource, str]:
    for source in sources:
        value = source_value(source, facts)
        if value:
            return source, value
    return KeySource(""), ""


def source_value(source: KeySource, facts: RequestFacts) -> str:
    """The conversation value one key source finds in the request ("" when none)."""
    if source.type == "request_header":
        return facts.headers.get(source.key.lower(), "").strip()
    if source.type == "gjson":
        return _scalar(body_path(facts.body, source.path))
    if source.type in ("context_int", "context_string"):
        context = {"token_id": facts.token_id, "id": facts.user_id, "group": facts.group}
        value = context.get(source.key)
        return "" if value in (None, "", 0) else str(value)
    if source.type == "prompt_prefix":
        return prompt_prefix_digest(facts.body)
    return ""


def body_path(body: Any, path: str) -> Any:
    """A dotted path (``metadata.user_id``, ``input.0.id``) into the body; None when absent."""
    current = body
    for part in path.split(".") if path else ():
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list) and value:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))[:PREFIX_BUDGET]
    return ""


# ---- the prompt prefix -----------------------------------------------------------------------


def prompt_prefix_digest(body: Mapping[str, Any]) -> str:
    """A digest of the prompt's stable head: the system prompt, the tools and the leading
    messages up to the first user turn (chat, Claude, Responses and Gemini field names).

    Each of the three parts feeds at most :data:`PREFIX_BUDGET` bytes, so the cost is bounded
    whatever the body's size; "" when the body has no prompt at all.
    """
    system = [body.get(name) for name in _SYSTEM_FIELDS]
    tools = body.get("tools")
    lead = _leading_turn(body)
    if not lead and not any(system):
        return ""
    digest = hashlib.blake2b(digest_size=16)
    for part in (system, tools, lead):
        _feed(digest, part, [PREFIX_BUDGET])
        digest.update(b"\x1e")  # part separator: moving text between parts changes the digest
    return digest.hexdigest()


def is_continuation(body: Mapping[str, Any]) -> bool:
    """Whether the request carries an earlier answer (a later turn of a conversation)."""
    if body.get("previous_response_id"):
        return True
    for name in ("messages", "input", "contents"):
        items = body.get(name)
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, Mapping):
                continue
            if item.get("role") in ("assistant", "model"):
                return True
            if item.get("type") not in (None, "message"):  # Responses tool calls, reasoning
                return True
    return False


def _leading_turn(body: Mapping[str, Any]) -> list[Any]:
    """The first items of the conversation, through its first user (or plain) message."""
    for name in ("messages", "input", "contents", "prompt"):
        items = body.get(name)
        if isinstance(items, str) and items:
            return [items]
        if isinstance(items, list) and items:
            lead = []
            for item in items[:_LEAD_ITEMS]:
                lead.append(item)
                role = item.get("role") if isinstance(item, Mapping) else None
                if role not in _SYSTEM_ROLES:
                    break
            return lead
    return []


def _feed(digest: Any, value: Any, budget: list[int]) -> None:
    """Feed ``value``'s text into ``digest`` until ``budget[0]`` bytes are used up."""
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        data = value.encode()[: budget[0]]
        budget[0] -= len(data)
        digest.update(data)
        digest.update(b"\x1f")
    elif isinstance(value, Mapping):
        for key in sorted(value):
            if budget[0] <= 0:
                return
            if key == "cache_control":  # a moving cache breakpoint is not a different prompt
                continue
            _feed(digest, str(key), budget)
            _feed(digest, value[key], budget)
    elif isinstance(value, list | tuple):
        for item in value:
            if budget[0] <= 0:
                return
            _feed(digest, item, budget)
    elif value is not None:
        _feed(digest, str(value), budget)


# ---- choosing --------------------------------------------------------------------------------


def serves(tiers: Sequence[Tier], channel_id: int) -> bool:
    """Whether ``channel_id`` is a candidate in ``tiers`` (enabled for the group and model)."""
    return any(cid == channel_id for tier in tiers for cid, _ in tier)


def preferred_channel(
    tiers: Sequence[Tier], excluded: Collection[int], remembered: Remembered
) -> int | None:
    """The remembered channel when it is still a candidate and did not fail in this request.

    As in new-api, affinity outranks priority and weight: a conversation whose channel is
    still serving stays on it, even after a higher tier came back.
    """
    channel_id = remembered.channel_id
    if channel_id in excluded or not serves(tiers, channel_id):
        return None
    return channel_id


def preferred_key(
    choices: Sequence[tuple[int, str]], remembered: Remembered, skip: Collection[int]
) -> tuple[int, str] | None:
    """The remembered key of a multi-key channel when it is still enabled, still the same key
    (its fingerprint) and did not fail in this request; else None (pick as usual)."""
    for index, key in choices:
        if index != remembered.key_index or index in skip:
            continue
        if remembered.key_fp and fingerprint(key) != remembered.key_fp:
            return None
        return index, key
    return None


def to_remember(
    settings: AffinitySettings,
    match: Match,
    remembered: Remembered | None,
    remembered_usable: bool,
    served: Remembered,
) -> Remembered | None:
    """What to write after ``served`` answered, or None to leave the store alone.

    ``keep_on_channel_disabled`` keeps an entry whose channel left the candidates (disabled),
    so the conversation returns to it once it is back; ``switch_on_success`` off keeps a
    usable entry even when another channel served. An unchanged entry is rewritten once a
    quarter of its TTL has passed, so an active conversation's affinity does not expire.
    """
    if remembered is None:
        return served
    if not remembered_usable and settings.keep_on_channel_disabled:
        return None
    same = (remembered.channel_id, remembered.key_index) == (served.channel_id, served.key_index)
    if not same:
        return served if settings.switch_on_success or not remembered_usable else None
    if served.written - remembered.written >= match.ttl_seconds / 4:
        return served
    return None


def log_info(match: Match, preference: Preference | None, channel_id: int) -> dict[str, Any]:
    """``admin_info.channel_affinity`` of the consume log (new-api's field names)."""
    return {
        "rule_name": match.rule_name,
        "key_source": match.key_source,
        "key_fp": match.key_fp,
        "channel_id": channel_id,
        "hit": preference is not None and preference.remembered.channel_id == channel_id,
    }
