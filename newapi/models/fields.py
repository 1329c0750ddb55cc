"""Column helpers that follow GORM's type classes (reference: admin §2).

new-api's tables were made by GORM, so each helper names the GORM class it stands for:
``i64`` is a Go ``int`` (bigint), ``s0`` an unsized string (text/longtext), ``s1`` an indexed or
defaulted string (varchar(191) on MySQL). Columns are nullable where an older new-api could have
left NULLs, so adopted databases read without errors.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise import fields

_FRACTION = re.compile(r"(\.\d{6})\d+")


def i64(default: int = 0, **kwargs: Any) -> fields.BigIntField:
    return fields.BigIntField(default=default, db_default=default, null=True, **kwargs)


def i32(default: int = 0, **kwargs: Any) -> fields.IntField:
    return fields.IntField(default=default, db_default=default, null=True, **kwargs)


def s0(**kwargs: Any) -> fields.TextField:
    kwargs.setdefault("null", True)
    return fields.TextField(**kwargs)


def s1(default: str | None = "", size: int = 191, **kwargs: Any) -> fields.CharField:
    if default is not None:
        kwargs.setdefault("db_default", default)
    return fields.CharField(max_length=size, default=default, null=True, **kwargs)


def flag(default: bool = False, **kwargs: Any) -> fields.BooleanField:
    return fields.BooleanField(default=default, db_default=default, null=True, **kwargs)


class LenientDatetimeField(fields.DatetimeField):
    """A timestamp column that also reads what Go drivers wrote.

    GORM on SQLite stores ``deleted_at`` as text such as ``2024-05-01 10:00:00.123456789+08:00``
    (nanoseconds), which Python's parser rejects. Anything unreadable still counts as "set":
    it becomes the epoch, so a soft-deleted row never looks alive.
    """

    def to_python_value(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return super().to_python_value(value)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        text = _FRACTION.sub(r"\1", str(value).strip()).replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return datetime.fromtimestamp(0, UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def soft_delete() -> LenientDatetimeField:
    return LenientDatetimeField(null=True)
