from __future__ import annotations

from datetime import UTC, datetime


def deleted_now() -> datetime:
    """The value a soft delete writes into ``deleted_at`` (UTC, naive as Tortoise stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)
