"""Channel affinity rules (pure): which conversation a request belongs to, and the choice."""

from __future__ import annotations

import time
from typing import Any

from newapi.routing import affinity
from newapi.routing.affinity import (
    PREFIX_BUDGET,
    AffinitySettings,
    Match,
    Remembered,
    RequestFacts,
    fingerprint,
    match,
    preferred_channel,
    preferred_key,
    prompt_prefix_digest,
    settings_from,
    to_remember,
)

DEFAULTS = settings_from(lambda key: affinity.OPTION_DEFAULTS.get(key, ""))


def facts(path: str, body: dict[str, Any], **kw: Any) -> RequestFacts:
    fields: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "headers": {},
        "token_id": 7,
        "group": "default",
    }
    fields.update(kw)
    return RequestFacts(path=path, body=body, **fields)


def test_defaults_are_on_with_new_apis_names_and_values() -> None:
    assert DEFAULTS.enabled and DEFAULTS.switch_on_success
    assert not DEFAULTS.keep_on_channel_disabled
    assert (DEFAULTS.max_entries, DEFAULTS.default_ttl_seconds) == (100_000, 3600)
    names = [rule.name for rule in DEFAULTS.rules]
    assert names[:2] == ["codex cli trace", "claude cli trace"]
    assert not any(rule.skip_retry_on_failure for rule in DEFAULTS.rules)


def test_codex_prompt_cache_key_names_the_conversation_on_any_model() -> None:
    body = {"model": "claude-sonnet-4", "prompt_cache_key": "thread-1", "input": "hi"}
    found = match(DEFAULTS, facts("/v1/responses", body, model="claude-sonnet-4"))
    assert found is not None and found.rule_name == "codex cli trace"
    assert found.key_source == "gjson" and found.key_fp == fingerprint("thread-1")
    assert "thread-1" not in found.cache_key  # hashed: no conversation ids in the store keys
    other = match(DEFAULTS, facts("/v1/responses", {**body, "prompt_cache_key": "thread-2"}))
    assert other is not None and other.cache_key != found.cache_key
    compact = match(DEFAULTS, facts("/v1/responses/compact", body, model="claude-sonnet-4"))
    assert compact is not None and compact.cache_key == found.cache_key


def test_claude_code_session_in_metadata_user_id() -> None:
    user_id = "user_abc_account_def_session_0f0e"
    body = {"model": "claude-x", "metadata": {"user_id": user_id}, "messages": []}
    found = match(DEFAULTS, facts("/v1/messages", body, model="claude-x"))
    assert found is not None and found.rule_name == "claude cli trace"
    assert found.key_fp == fingerprint(user_id)
    by_header = match(
        DEFAULTS,
        facts("/v1/messages", {"messages": []}, headers={"x-claude-code-session-id": "s1"}),
    )
    assert by_header is not None and by_header.key_source == "request_header"


def test_tokens_and_groups_do_not_share_a_conversation() -> None:
    body = {"prompt_cache_key": "k", "messages": [{"role": "user", "content": "x"}]}
    one = match(DEFAULTS, facts("/v1/chat/completions", body))
    other_token = match(DEFAULTS, facts("/v1/chat/completions", body, token_id=8))
    other_group = match(DEFAULTS, facts("/v1/chat/completions", body, group="vip"))
    assert one is not None and other_token is not None and other_group is not None
    assert len({one.cache_key, other_token.cache_key, other_group.cache_key}) == 3
    assert one.rule_name == "openai prompt_cache_key" and one.follow  # named: always follows
    by_user = match(DEFAULTS, facts("/v1/chat/completions", {"user": "u1", "messages": []}))
    assert by_user is not None and by_user.rule_name == "openai prompt_cache_key"


def test_the_prompt_prefix_when_the_caller_names_no_conversation() -> None:
    turn1 = {
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Plan a trip"},
        ]
    }
    turn3 = {
        "messages": turn1["messages"]
        + [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}]
    }
    first = match(DEFAULTS, facts("/v1/chat/completions", turn1))
    later = match(DEFAULTS, facts("/v1/chat/completions", turn3))
    assert first is not None and later is not None
    assert first.rule_name == "prompt prefix" and first.cache_key == later.cache_key
    assert not first.follow and later.follow  # a first turn is spread; later ones follow
    other = {"messages": [turn1["messages"][0], {"role": "user", "content": "Plan a party"}]}
    assert match(DEFAULTS, facts("/v1/chat/completions", other)).cache_key != first.cache_key  # type: ignore[union-attr]
    assert match(DEFAULTS, facts("/v1/chat/completions", {"model": "m"})) is None


def test_prefix_digest_formats_and_cache_control() -> None:
    claude = {
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "run", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "go"}],
    }
    moved = {**claude, "system": [{"type": "text", "text": "sys"}]}
    assert prompt_prefix_digest(claude) == prompt_prefix_digest(moved)
    assert prompt_prefix_digest(claude) != prompt_prefix_digest({**claude, "tools": []})
    gemini = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    responses = {"instructions": "be brief", "input": "hi"}
    assert prompt_prefix_digest(gemini) and prompt_prefix_digest(responses)
    assert prompt_prefix_digest(gemini) != prompt_prefix_digest(responses)


def test_prefix_digest_is_bounded() -> None:
    """Only the first PREFIX_BUDGET bytes of a part count: a huge tail is never read."""
    head = "x" * PREFIX_BUDGET
    one = {"messages": [{"role": "user", "content": head + "A" * 1_000_000}]}
    two = {"messages": [{"role": "user", "content": head + "B" * 10}]}
    assert prompt_prefix_digest(one) == prompt_prefix_digest(two)
    started = time.perf_counter()
    for _ in range(100):
        prompt_prefix_digest(one)
    assert time.perf_counter() - started < 0.5  # 100 digests of a 1 MB prompt
    short = {"messages": [{"role": "user", "content": "x" * (PREFIX_BUDGET - 10) + "C"}]}
    assert prompt_prefix_digest(short) != prompt_prefix_digest(two)


def test_rules_as_new_api_reads_them() -> None:
    rules = (
        '[{"name":"r","model_regex":["^gpt-"],"path_regex":["/v1/chat"],'
        '"user_agent_include":["codex"],"key_sources":[{"type":"request_header","key":"X-S"}],'
        '"value_regex":"^s-","ttl_seconds":60,"skip_retry_on_failure":true,'
        '"param_override_template":{"operations":[]}}]'
    )
    settings = settings_from(lambda key: rules if key.endswith("rules") else "")
    headers = {"user-agent": "Codex/1.0", "x-s": "s-1"}
    found = match(settings, facts("/v1/chat/completions", {}, headers=headers))
    assert found is not None and found.ttl_seconds == 60 and found.skip_retry_on_failure
    assert found.cache_key == affinity.NAMESPACE + found.cache_key.split(":")[-1]
    for changed in (
        {"model": "claude-x"},
        {"path": "/v1/embeddings"},
        {"headers": {**headers, "user-agent": "curl"}},
        {"headers": {**headers, "x-s": "t-1"}},
    ):
        args: dict[str, Any] = {"path": "/v1/chat/completions", "body": {}, "headers": headers}
        args.update(changed)
        assert match(settings, facts(**args)) is None, changed
    no_models = settings_from(
        lambda key: rules.replace('["^gpt-"]', "[]") if key.endswith("rules") else ""
    )
    assert match(no_models, facts("/v1/chat/completions", {}, headers=headers)) is None
    off = settings_from(lambda key: "false" if key.endswith("enabled") else "")
    assert match(off, facts("/v1/chat/completions", {"prompt_cache_key": "k"})) is None
    broken = settings_from(lambda key: "{oops" if key.endswith("rules") else "")
    assert broken.rules == DEFAULTS.rules


def test_remembered_round_trip_and_new_apis_bare_channel_id() -> None:
    entry = Remembered(3, 2, "abcd0123", 1700.5)
    assert Remembered.decode(entry.encode()) == entry
    assert Remembered.decode(b"5") == Remembered(5)
    for garbage in (None, b"", b"x", b"0", b"true", b'{"c":"3"}', b"[]"):
        assert Remembered.decode(garbage) is None


TIERS = (((1, 10), (2, 10)), ((3, 10),))


def test_the_remembered_channel_first_while_it_is_a_candidate() -> None:
    assert preferred_channel(TIERS, set(), Remembered(3)) == 3  # even in a lower tier
    assert preferred_channel(TIERS, {3}, Remembered(3)) is None  # failed in this request
    assert preferred_channel(TIERS, set(), Remembered(9)) is None  # disabled or not serving


def test_the_remembered_key_while_it_is_the_same_key() -> None:
    choices = [(0, "sk-a"), (2, "sk-c")]
    assert preferred_key(choices, Remembered(1, 2, fingerprint("sk-c")), set()) == (2, "sk-c")
    assert preferred_key(choices, Remembered(1, 2, fingerprint("sk-b")), set()) is None
    assert preferred_key(choices, Remembered(1, 1), set()) is None  # key 1 disabled
    assert preferred_key(choices, Remembered(1, 2), {2}) is None  # failed in this request


MATCH = Match("k", "r", 3600, False, "gjson", "fp")


def test_what_is_written_after_an_answer() -> None:
    settings = AffinitySettings()
    served = Remembered(2, 0, "", 10_000.0)
    assert to_remember(settings, MATCH, None, False, served) == served
    same_fresh = Remembered(2, 0, "", 10_000.0 - 60)
    assert to_remember(settings, MATCH, same_fresh, True, served) is None  # no needless write
    same_old = Remembered(2, 0, "", 10_000.0 - 1000)
    assert to_remember(settings, MATCH, same_old, True, served) == served  # TTL refreshed
    moved = Remembered(1, 0, "", 10_000.0 - 60)
    assert to_remember(settings, MATCH, moved, True, served) == served  # failed over
    other_key = Remembered(2, 1, "", 10_000.0 - 60)
    assert to_remember(settings, MATCH, other_key, True, served) == served
    stay = AffinitySettings(switch_on_success=False)
    assert to_remember(stay, MATCH, moved, True, served) is None
    assert to_remember(stay, MATCH, moved, False, served) == served
    keep = AffinitySettings(keep_on_channel_disabled=True)
    assert to_remember(keep, MATCH, moved, False, served) is None


def test_later_turns_in_each_format() -> None:
    assert affinity.is_continuation({"previous_response_id": "resp_1", "input": "x"})
    assert affinity.is_continuation({"input": [{"type": "function_call_output", "output": ""}]})
    assert affinity.is_continuation({"contents": [{"role": "model", "parts": []}]})
    assert not affinity.is_continuation({"messages": [{"role": "user", "content": "hi"}]})
    assert not affinity.is_continuation({"input": [{"role": "user", "content": "hi"}]})
