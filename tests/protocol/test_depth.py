"""The body depth check: exact at the limit, whatever the shape."""

from __future__ import annotations

from typing import Any

import orjson

from newapi.protocol.depth import MAX_DEPTH, WRITABLE_DEPTH, too_deep


def nested(levels: int) -> Any:
    """``levels`` arrays and objects, alternating, innermost holding a string with brackets."""
    value: Any = "[[[{{{"
    for level in range(levels):
        value = [value] if level % 2 else {"a": value}
    return value


def test_the_limit_is_exact() -> None:
    assert not too_deep(nested(MAX_DEPTH))
    assert too_deep(nested(MAX_DEPTH + 1))
    assert too_deep({"messages": [{"content": nested(MAX_DEPTH)}]})
    assert not too_deep({"messages": [{"content": nested(MAX_DEPTH - 3)}]})


def test_any_limit_up_to_what_orjson_writes() -> None:
    for limit in (1, 10, WRITABLE_DEPTH - 1):
        assert not too_deep(nested(limit), limit)
        assert too_deep(nested(limit + 1), limit)
    assert not too_deep(nested(WRITABLE_DEPTH), WRITABLE_DEPTH)


def test_many_brackets_side_by_side_are_not_depth() -> None:
    wide = {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}] * 500}
    assert not too_deep(wide)
    assert not too_deep({"content": "[" * 5000})  # brackets in strings are text
    assert too_deep(orjson.loads(b"[" * 1024 + b"]" * 1024))  # the deepest orjson reads
