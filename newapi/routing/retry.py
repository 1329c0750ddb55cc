"""Whether a failed attempt is retried on another channel, and whether it disables one (pure).

A retry happens only before the caller received a byte (the relay enforces that); these rules
decide by the upstream status and error, as new-api's defaults do: ``AutomaticRetryStatusCodes``
(400 and 408 are the caller's fault, 504/524 are excluded by default), plus network failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DISABLING_CODES = frozenset(
    {
        "invalid_api_key",
        "account_deactivated",
        "billing_not_active",
        "Arrearage",
        # Google's RPC status names (Gemini, Vertex AI): new-api disables on a Gemini 403
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    }
)
DISABLING_TYPES = frozenset(
    {"insufficient_quota", "authentication_error", "permission_error", "forbidden"}
)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt as the retry rules see it."""

    status: int  # 0 for a network failure before any response
    message: str = ""
    code: str = ""
    kind: str = ""
    key_index: int = -1  # which line of a multi-key channel failed (-1: not known)


def in_ranges(status: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= status <= high for low, high in ranges)


def should_retry(failure: Failure, retry_ranges: Sequence[tuple[int, int]]) -> bool:
    if failure.status == 0 or not 100 <= failure.status <= 599:
        return True
    if 200 <= failure.status < 300:
        return False
    return in_ranges(failure.status, retry_ranges)


def should_disable(
    failure: Failure, disable_ranges: Sequence[tuple[int, int]], keywords: Iterable[str]
) -> bool:
    """new-api's auto-disable triggers (the caller checks the option and the channel's auto_ban)."""
    if failure.status and in_ranges(failure.status, disable_ranges):
        return True
    if failure.code in DISABLING_CODES or failure.kind in DISABLING_TYPES:
        return True
    message = failure.message.lower()
    return any(word.strip() and word.strip().lower() in message for word in keywords)
