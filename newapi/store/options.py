"""Options: loaded over the defaults at start, reloaded every SYNC_FREQUENCY, saved on PUT."""

from __future__ import annotations

from newapi.billing.price_table import PriceTable
from newapi.models import Option
from newapi.options import Options, validate


class OptionStore:
    """The current option snapshot, and the price table every snapshot carries."""

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices
        self.current = Options({}, prices)

    def use_prices(self, prices: PriceTable) -> None:
        """Price from ``prices`` from now on (loaded at start-up, or fetched by an admin)."""
        self.prices = prices
        self.current = Options(self._stored(), prices)

    async def reload(self) -> Options:
        rows = await Option.all().values_list("key", "value")
        self.current = Options({key: value or "" for key, value in rows}, self.prices)
        return self.current

    async def update(self, key: str, value: object) -> str:
        """Validate, save and apply one option; return the stored string."""
        text = validate(key, value)
        updated = await Option.filter(key=key).update(value=text)
        if not updated:
            await Option.get_or_create(key=key, defaults={"value": text})
            await Option.filter(key=key).update(value=text)
        self.current = Options({**self._stored(), key: text}, self.prices)
        return text

    def _stored(self) -> dict[str, str]:
        raw = self.current.raw()
        return {key: raw[key] for key in raw if self.current.is_stored(key)}

    async def update_many(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            await self.update(key, value)
