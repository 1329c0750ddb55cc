"""The packaged price table, loaded once for the whole test session (it is immutable)."""

from __future__ import annotations

from functools import cache

from newapi.billing.price_table import PriceTable


@cache
def packaged_prices() -> PriceTable:
    """The table the gateway loads at start-up, from the installed genai-prices."""
    return PriceTable.packaged()
