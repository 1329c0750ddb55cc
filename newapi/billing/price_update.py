"""Pulling newer price data: genai-prices' updater, pointed at a configurable URL (I/O).

genai-prices publishes its data as one JSON array of providers; its ``UpdatePrices.fetch``
downloads and validates it into a snapshot. newapi calls only that ``fetch`` (in a thread: it
is a blocking HTTP client), never its background updater, which would swap a process-wide
snapshot behind the app's back. Every failure (no network, an HTTP error, a body that is not
price data) becomes one :class:`~newapi.errors.PriceDataUnavailable` naming the URL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from newapi.billing.price_table import PriceTable
from newapi.errors import PriceDataUnavailable

FETCH_TIMEOUT_SECONDS = 30.0


def default_update_url() -> str:
    """Where genai-prices itself pulls updates from (its GitHub data file)."""
    from genai_prices.update_prices import DEFAULT_UPDATE_URL

    return DEFAULT_UPDATE_URL


async def fetch_price_table(url: str, limit: float = FETCH_TIMEOUT_SECONDS) -> PriceTable:
    """A table of the price data at ``url`` (genai-prices' JSON format), within ``limit`` s."""
    return await asyncio.to_thread(_fetch, url, limit)


def _fetch(url: str, timeout: float) -> PriceTable:
    import httpx2
    from genai_prices.update_prices import UpdatePrices

    updater = UpdatePrices(url=url, request_timeout=httpx2.Timeout(timeout, connect=10))
    try:
        snapshot = updater.fetch()
    except httpx2.HTTPError as exc:
        raise PriceDataUnavailable(f"could not fetch price data from {url}: {exc}") from None
    except ValueError as exc:  # not JSON, not a provider array, or fails validation (pydantic)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PriceDataUnavailable(f"{url} did not answer genai-prices data: {reason}") from None
    if snapshot is None or not snapshot.providers:
        raise PriceDataUnavailable(f"{url} answered no providers")
    fetched = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return PriceTable(snapshot.providers, source=url, version=f"fetched {fetched}")
