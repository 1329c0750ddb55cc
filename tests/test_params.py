"""The one number parser: what Go's encoding/json and strconv.Atoi take, and nothing else."""

from __future__ import annotations

import json
import math

import pytest

from newapi.errors import BadRequest
from newapi.params import (
    INT64_MAX,
    INT64_MIN,
    NON_NEGATIVE,
    POSITIVE,
    Bounds,
    json_int,
    json_number,
    plain_int,
    text_int,
)


@pytest.mark.parametrize("value", [0, 1, -1, INT64_MAX, INT64_MIN])
def test_json_integers_in_range_pass(value: int) -> None:
    assert json_int("n", value) == value


@pytest.mark.parametrize(
    "value", ["5", "²", 1.0, 1.5, math.inf, True, False, None, [1], {"n": 1}, INT64_MAX + 1]
)
def test_everything_else_is_refused_by_name(value: object) -> None:
    with pytest.raises(BadRequest, match=r"^quota must"):
        json_int("quota", value)


def test_bounds_name_the_field_and_the_range() -> None:
    with pytest.raises(BadRequest, match=r"^count must be between 1 and 10$"):
        json_int("count", 0, Bounds(1, 10))
    with pytest.raises(BadRequest, match="between 0 and"):
        json_int("quota", -1, NON_NEGATIVE)


@pytest.mark.parametrize(("text", "value"), [("7", 7), (" +7 ", 7), ("-7", -7), ("007", 7)])
def test_plain_ascii_integers_pass(text: str, value: int) -> None:
    assert text_int("p", text) == value


@pytest.mark.parametrize(
    "text", ["²", "٣", "--5", "+-5", "1_000", "1.5", "1e3", "0x10", "", " ", "5 5", "true"]
)
def test_other_text_is_refused(text: str) -> None:
    with pytest.raises(BadRequest, match=r"^id must be an integer$"):
        text_int("id", text, POSITIVE)
    assert plain_int(text) is None


@pytest.mark.parametrize("text", ["9" * 5000, str(INT64_MAX + 1), str(INT64_MIN - 1)])
def test_long_digit_strings_are_out_of_range_without_int(text: str) -> None:
    with pytest.raises(BadRequest, match=r"^id must be between"):
        text_int("id", text)


def test_json_number_keeps_huge_integers_out_of_int() -> None:
    parsed = json.loads('{"a": ' + "9" * 5000 + ', "b": 12}', parse_int=json_number)
    assert parsed == {"a": math.inf, "b": 12}
