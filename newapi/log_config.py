"""Process logging, the same in ``newapi serve`` and in each Hypercorn worker it spawns."""

from __future__ import annotations

import logging

from newapi.config import Settings


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Tortoise logs every SQL statement with its parameters (passwords, keys) at DEBUG.
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    # Hypercorn writes its own lines (errorlog = "-"); do not print them twice.
    logging.getLogger("hypercorn.error").propagate = False
