"""The option registry alone: defaults, secret keys, validation and typed reading (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from newapi.errors import BadRequest
from newapi.options import DEFAULTS, Options, is_secret_key, validate
from newapi.options.registry import Kind, kind_of


def test_defaults_are_valid_for_their_kinds() -> None:
    for key, default in DEFAULTS.items():
        assert validate(key, default) == default, key


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("GitHubClientSecret", True),
        ("SMTPToken", True),
        ("TurnstileSecretKey", True),
        ("TurnstileSiteKey", True),
        ("oidc.client_secret", True),
        ("some.api_key", True),
        ("GitHubClientId", False),
        ("ModelRatio", False),
        ("TokenLimit", False),
        ("KeyFile", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("DrawingEnabled", True, "true"),
        ("DrawingEnabled", False, "false"),
        ("DrawingEnabled", "TRUE", "true"),
        ("RetryTimes", 3, "3"),
        ("RetryTimes", 3.0, "3"),
        ("RetryTimes", "-2", "-2"),
        ("Price", 7.3, "7.3"),
        ("Price", 1e-7, "0.0000001"),
        ("Price", 1e20, "100000000000000000000"),
        ("Price", "1e3", "1e3"),
        ("ModelRatio", {"a": 1, "b": 0.5}, '{"a":1,"b":0.5}'),
        ("ModelRatio", '{"a": 0}', '{"a": 0}'),
        ("GroupGroupRatio", {"vip": {"default": 0.9}}, '{"vip":{"default":0.9}}'),
        ("AutoGroups", ["default"], '["default"]'),
        ("AutomaticDisableStatusCodes", "401, 500-599", "401, 500-599"),
        ("SystemName", "名字", "名字"),
        ("UnknownKey", "anything at all", "anything at all"),
    ],
)
def test_valid_values_are_normalised(key: str, value: Any, stored: str) -> None:
    assert validate(key, value) == stored


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DrawingEnabled", "yes"),
        ("DrawingEnabled", 1),
        ("RetryTimes", "abc"),
        ("RetryTimes", 1.5),
        ("RetryTimes", True),
        ("RetryTimes", " 5"),
        ("RetryTimes", "1_000"),
        ("RetryTimes", ""),
        ("Price", "NaN"),
        ("Price", "inf"),
        ("Price", "1_0"),
        ("ModelRatio", "not json"),
        ("ModelRatio", "[1]"),
        ("ModelRatio", '{"a": -1}'),
        ("ModelRatio", '{"a": "1"}'),
        ("ModelRatio", '{"a": true}'),
        ("ModelRatio", '{"a": NaN}'),
        ("ModelRatio", '{"a": Infinity}'),
        ("ModelRatio", '{"a": 1e999}'),
        ("GroupGroupRatio", '"text"'),
        ("GroupGroupRatio", '{"a": NaN}'),
        ("AutoGroups", "[unquoted]"),
        ("AutomaticDisableStatusCodes", "700"),
        ("AutomaticDisableStatusCodes", "500-400"),
        ("AutomaticDisableStatusCodes", "abc"),
        ("SystemName", None),
        ("", "x"),
        ("k" * 192, "x"),
    ],
)
def test_invalid_values_are_refused(key: str, value: Any) -> None:
    with pytest.raises(BadRequest):
        validate(key, value)


def test_error_names_the_key() -> None:
    with pytest.raises(BadRequest, match="RetryTimes"):
        validate("RetryTimes", "many")


def test_kinds() -> None:
    assert kind_of("ModelRatio") is Kind.RATIO_MAP
    assert kind_of("RetryTimes") is Kind.INT
    assert kind_of("GitHubOAuthEnabled") is Kind.BOOL
    assert kind_of("NoSuchKey") is None


def test_snapshot_merges_defaults_and_rows() -> None:
    opts = Options({"SystemName": "Mine", "Extra": "x"})
    raw = opts.raw()
    assert raw["SystemName"] == "Mine" and raw["Extra"] == "x"
    assert raw["RetryTimes"] == DEFAULTS["RetryTimes"]
    raw["SystemName"] = "changed"
    assert opts.str("SystemName") == "Mine"


def test_typed_readers() -> None:
    opts = Options(
        {
            "DrawingEnabled": "false",
            "RetryTimes": "4",
            "Price": "2.5",
            "ModelRatio": '{"m": 2}',
            "AutomaticRetryStatusCodes": "429,500-502",
        }
    )
    assert opts.bool("DrawingEnabled") is False and opts.bool("RegisterEnabled") is True
    assert opts.int("RetryTimes") == 4 and opts.float("Price") == 2.5
    assert opts.ratio_map("ModelRatio") == {"m": 2}
    assert opts.status_ranges("AutomaticRetryStatusCodes") == [(429, 429), (500, 502)]
    assert opts.str("Missing") == "" and opts.json("Missing") is None


def test_unreadable_stored_values_fall_back_to_defaults() -> None:
    """A row written by another node (or by hand) must never break a reader."""
    opts = Options(
        {
            "RetryTimes": "many",
            "Price": "cheap",
            "ModelRatio": "{broken",
            "AutomaticDisableStatusCodes": "nonsense",
        }
    )
    assert opts.int("RetryTimes") == int(DEFAULTS["RetryTimes"])
    assert opts.float("Price") == float(DEFAULTS["Price"])
    assert opts.ratio_map("ModelRatio") == json.loads(DEFAULTS["ModelRatio"])
    assert opts.status_ranges("AutomaticDisableStatusCodes") == [(401, 401)]


def test_non_object_ratio_map_reads_empty() -> None:
    assert Options({"ModelRatio": "[1, 2]"}).ratio_map("ModelRatio") == {}
