"""The ``/api`` admin API: same routes, envelope and JSON shapes as new-api."""

from __future__ import annotations

from quart import Blueprint


def blueprints() -> list[Blueprint]:
    from newapi.admin import (
        affinity,
        channel_keys,
        channel_tools,
        channels,
        data,
        logs,
        options,
        prices,
        redemptions,
        system,
        tokens,
        user_admin,
        users,
    )

    return [
        system.bp,
        users.bp,
        user_admin.bp,
        tokens.bp,
        channels.bp,
        channel_keys.bp,
        channel_tools.bp,
        options.bp,
        affinity.bp,
        prices.bp,
        logs.bp,
        data.bp,
        redemptions.bp,
    ]
