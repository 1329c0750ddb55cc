"""``newapi serve | migrate | version`` (also ``python -m newapi``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import newapi
from newapi.config import ConfigError, Settings, settings_from_environ
from newapi.log_config import configure_logging

log = logging.getLogger("newapi")


def _hypercorn_config(settings: Settings):  # type: ignore[no-untyped-def]
    from hypercorn.config import Config

    path = Path(settings.hypercorn_config)
    config = Config.from_toml(path) if path.exists() else Config()
    config.bind = [f"0.0.0.0:{settings.port}"]
    return config


def _fail(message: str) -> int:
    print(f"newapi: {message}", file=sys.stderr)
    return 1


def cmd_migrate(settings: Settings) -> int:
    from newapi.db.migrate import FAILURES, failure_message, migrate

    if not settings.is_master:
        return _fail("NODE_TYPE=slave: migrations run only on the master node")
    try:
        applied = asyncio.run(migrate(settings))
    except FAILURES as exc:
        return _fail(failure_message(exc))
    log.info(
        "database %s is up to date (%d migration(s) applied)",
        settings.database.display,
        len(applied),
    )
    return 0


def cmd_check(settings: Settings) -> int:
    """Refuse to serve a database whose schema is stale (a slave, or ``--no-migrate``)."""
    from newapi.db.migrate import FAILURES, check_database, failure_message

    try:
        asyncio.run(check_database(settings))
    except FAILURES as exc:
        return _fail(failure_message(exc))
    return 0


def cmd_serve(settings: Settings, *, migrate_first: bool) -> int:
    from hypercorn.asyncio import serve

    from newapi.app import create_app

    config = _hypercorn_config(settings)
    if config.workers > 1 and not settings.redis_url:
        # Each worker would keep its own cache: quota reservations, rate limits and cache
        # invalidation would not be shared, and keys could overspend.
        return _fail(
            f"workers = {config.workers} in {settings.hypercorn_config} needs REDIS_CONN_STRING"
            " (workers share quota, rate limits and caches through Redis); set it or use 1 worker"
        )
    code = cmd_migrate(settings) if migrate_first and settings.is_master else cmd_check(settings)
    if code:
        return code
    if config.workers > 1:
        from hypercorn.run import run

        config.application_path = "newapi.asgi:app"
        return run(config)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is absent on Windows only
        runner = asyncio.run
    runner(serve(create_app(settings), config))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="newapi", description=newapi.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="serve the gateway with Hypercorn")
    serve_parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate first (the schema must already be current)",
    )
    sub.add_parser("migrate", help="create or adopt the database schema")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(newapi.__version__)
        return 0
    try:
        settings = settings_from_environ()
    except ConfigError as exc:
        print(f"newapi: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "migrate":
        return cmd_migrate(settings)
    return cmd_serve(settings, migrate_first=not args.no_migrate)
