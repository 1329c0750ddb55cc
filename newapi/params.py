"""The one parser for numbers in requests: JSON body fields, query strings, path ids, options.

Pure: no Quart. Rules follow what new-api's Go decodes, so a value Go refuses is refused here
too, with a message naming the field instead of a 500:

- a JSON integer field takes a JSON integer only (Go's ``encoding/json``): no string, float
  (``1.0`` and ``1e3`` included), boolean, list or object;
- a query string or path segment takes ASCII digits with an optional sign (Go's
  ``strconv.Atoi``): no Unicode digits (``"²"``, ``"٣"``), no ``"--5"``, no spaces inside;
- every value must fit its column: 64-bit by default, narrower bounds where a field says so.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from newapi.errors import BadRequest

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# At most 19 digits: every int64 fits, and int() never sees a 5,000-digit string.
_PLAIN_INT = re.compile(r"[+-]?[0-9]{1,19}", re.ASCII)
_ANY_LENGTH_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


class Bounds(NamedTuple):
    """The inclusive range a field accepts."""

    low: int
    high: int

    def check(self, name: str, value: int) -> int:
        if not self.low <= value <= self.high:
            raise BadRequest(f"{name} must be between {self.low} and {self.high}")
        return value


INT64 = Bounds(INT64_MIN, INT64_MAX)
NON_NEGATIVE = Bounds(0, INT64_MAX)
POSITIVE = Bounds(1, INT64_MAX)


def json_int(name: str, value: object, bounds: Bounds = INT64) -> int:
    """A JSON value that must be an integer within ``bounds``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, got {_kind(value)}")
    return bounds.check(name, value)


def text_int(name: str, text: str, bounds: Bounds = INT64) -> int:
    """A query-string or path value that must be a plain ASCII integer within ``bounds``."""
    value = plain_int(text)
    if value is None:
        if _ANY_LENGTH_INT.fullmatch(text.strip()):
            raise BadRequest(f"{name} must be between {bounds.low} and {bounds.high}")
        raise BadRequest(f"{name} must be an integer")
    return bounds.check(name, value)


def plain_int(text: str) -> int | None:
    """``text`` (spaces around allowed) as a 64-bit integer, or None when it is not one."""
    text = text.strip()
    if not _PLAIN_INT.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def json_number(literal: str) -> int | float:
    """``parse_int`` for :func:`json.loads`: never calls ``int()`` on thousands of digits.

    An integer beyond 64 bits becomes infinity, which :func:`json_int` refuses as out of range.
    """
    value = plain_int(literal)
    return math.inf if value is None else value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a fraction or a number beyond 64 bits"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__
