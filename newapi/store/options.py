"""Options: loaded over the defaults at start, reloaded every SYNC_FREQUENCY, saved on PUT."""

from __future__ import annotations

from newapi.models import Option
from newapi.options import Options, validate


class OptionStore:
    def __init__(self) -> None:
        self.current = Options({})

    async def reload(self) -> Options:
        rows = await Option.all().values_list("key", "value")
        self.current = Options({key: value or "" for key, value in rows})
        return self.current

    async def update(self, key: str, value: object) -> str:
        """Validate, save and apply one option; return the stored string."""
        text = validate(key, value)
        updated = await Option.filter(key=key).update(value=text)
        if not updated:
            await Option.get_or_create(key=key, defaults={"value": text})
            await Option.filter(key=key).update(value=text)
        self.current = Options({**self.current.raw(), key: text})
        return text

    async def update_many(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            await self.update(key, value)
