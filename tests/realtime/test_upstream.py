"""Upstream URLs, headers, subprotocols and close codes (pure)."""

from __future__ import annotations

import pytest

from newapi.realtime.upstream import (
    azure_target,
    caller_protocol,
    close_reason,
    is_ga_model,
    openai_target,
    sendable_close,
    wants_beta,
)
from newapi.routing.index import ChannelSnapshot


def channel(**fields: object) -> ChannelSnapshot:
    base = {"id": 1, "type": 1, "name": "c", "status": 1, "groups": ("default",), "models": ()}
    return ChannelSnapshot(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "headers", "offered", "beta"),
    [
        ("gpt-realtime", {}, [], False),
        ("gpt-realtime-mini-2025-10-06", {"openai-beta": "realtime=v1"}, [], False),
        ("openai/gpt-realtime", {}, ["openai-beta.realtime-v1"], False),
        ("gpt-4o-realtime-preview", {}, [], True),
        ("gpt-4o-mini-realtime-preview-2024-12-17", {}, [], True),
        ("some-compatible-model", {}, [], False),
        ("some-compatible-model", {"openai-beta": "realtime=v1"}, [], True),
        ("some-compatible-model", {}, ["realtime", "openai-beta.realtime-v1"], True),
    ],
)
def test_beta_header_only_for_beta_models_or_callers_never_ga(
    model: str, headers: dict[str, str], offered: list[str], beta: bool
) -> None:
    assert wants_beta(model, headers, offered) is beta
    target = openai_target(
        channel(), "https://api.openai.com", model, "sk-up", {}, headers, offered
    )
    assert ("OpenAI-Beta" in target.headers) is beta
    assert target.headers["Authorization"] == "Bearer sk-up"
    assert is_ga_model(model) is model.rsplit("/", 1)[-1].startswith("gpt-realtime")


def test_openai_url_scheme_base_and_query() -> None:
    target = openai_target(
        channel(base_url="http://proxy.local/v1/"),
        "https://api.openai.com",
        "gpt-realtime",
        "sk-up",
        {"model": "alias", "intent": "transcription"},
        {},
        ["realtime", "openai-insecure-api-key.sk-caller"],
    )
    assert target.url == "ws://proxy.local/v1/realtime?model=gpt-realtime&intent=transcription"
    assert target.subprotocols == ("realtime",)  # never the caller's key protocol
    assert "sk-up" not in repr(target)
    default = openai_target(channel(), "https://api.openai.com", "m", "k", {}, {}, [])
    assert default.url == "wss://api.openai.com/v1/realtime?model=m"


def test_header_override_applies_last() -> None:
    target = openai_target(
        channel(header_override={"Authorization": "Token {api_key}", "X-Extra": "1"}),
        "https://api.openai.com",
        "gpt-realtime",
        "sk-up",
        {},
        {},
        [],
    )
    assert target.headers["Authorization"] == "Token sk-up" and target.headers["X-Extra"] == "1"


def test_azure_preview_and_ga_paths() -> None:
    base = channel(type=3, base_url="https://res.openai.azure.com/")
    preview = azure_target(base, "gpt-4o-realtime-preview", "az", {}, "2025-04-01-preview", [])
    assert preview.url == (
        "wss://res.openai.azure.com/openai/realtime"
        "?api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
    )
    assert preview.headers == {"api-key": "az"} and preview.beta
    dotted = azure_target(base, "gpt-4.1-realtime", "az", {"api-version": "2024-10-01"}, "x", [])
    assert "api-version=2024-10-01&deployment=gpt-41-realtime" in dotted.url
    other = channel(type=3, base_url="https://res.openai.azure.com", other="v1")
    ga = azure_target(other, "gpt-realtime", "az", {}, "2025-04-01-preview", [])
    assert ga.url == "wss://res.openai.azure.com/openai/v1/realtime?model=gpt-realtime"
    assert not ga.beta and "Authorization" not in ga.headers


def test_caller_protocol_never_echoes_the_key() -> None:
    offered = ["realtime", "openai-insecure-api-key.sk-x", "openai-beta.realtime-v1"]
    assert caller_protocol(offered, "realtime") == "realtime"
    assert caller_protocol(offered, None) == "realtime"
    assert caller_protocol(["openai-insecure-api-key.sk-x"], None) is None
    assert caller_protocol(offered, "openai-insecure-api-key.sk-x") == "realtime"
    assert caller_protocol([], None) is None


@pytest.mark.parametrize(
    ("code", "sent"),
    [
        (1000, 1000),
        (1005, 1000),
        (1006, 1011),
        (None, 1011),
        (1015, 1011),
        (4001, 4001),
        (1008, 1008),
        (999, 1011),
        (5000, 1011),
        (1004, 1011),
    ],
)
def test_close_codes_that_may_not_be_sent_are_mapped(code: int | None, sent: int) -> None:
    assert sendable_close(code, lost=1011) == sent


def test_close_reason_fits_a_control_frame() -> None:
    assert close_reason("short") == "short"
    long = "é" * 100
    assert len(close_reason(long).encode()) <= 123
