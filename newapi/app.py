"""``create_app()``: blueprints, error rendering and the lifespan (database, cache, tasks)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
from quart import Quart, Response, current_app, request
from tortoise import Tortoise
from tortoise.exceptions import DBConnectionError, IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from newapi import console
from newapi.admin import blueprints
from newapi.admin.respond import json_response
from newapi.auth.ratelimit import enforce
from newapi.auth.sessions import AdminSessions
from newapi.billing.journal import Journal
from newapi.billing.journal_file import FileJournal
from newapi.billing.journal_redis import RENEW_SECONDS, RedisJournal
from newapi.billing.ledger import QuotaLedger
from newapi.billing.price_table import PriceTable
from newapi.billing.writer import UsageWriter
from newapi.cache import Cache, MemoryCache, RedisCache
from newapi.cache.entities import EntityCache
from newapi.config import Settings, settings_from_environ
from newapi.db import migrate
from newapi.db.connection import tortoise_config
from newapi.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    PayloadTooLarge,
    RelayError,
    ServiceUnavailable,
    admin_body,
)
from newapi.protocol import tokens
from newapi.realtime.routes import bp as realtime_blueprint
from newapi.relay import http_connection, relay_blueprints, render_error
from newapi.relay.affinity import AffinityStore, settings_of
from newapi.relay.credentials import AccessTokens
from newapi.relay.monitor import TICK_SECONDS, ChannelMonitor
from newapi.state import EXTENSION, AppState, app_state
from newapi.store.balances import balance_loaders
from newapi.store.options import OptionStore

log = logging.getLogger(__name__)
# Applied settlement ids must outlive their journal records: those are acknowledged within a
# flush or two, and a dead process's are adopted within seconds (or replayed, before any
# pruning, by the next start on its machine). A day of ids, pruned every hour.
APPLIED_IDS_KEPT_SECONDS = 24 * 3600
PRUNE_SECONDS = 3600


def _make_cache(settings: Settings) -> Cache:
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.redis_pool_size)
    return MemoryCache()


def _affinity_store(state: AppState) -> AffinityStore:
    """Redis when configured (every worker and node agrees); else a private LRU sized by
    ``channel_affinity_setting.max_entries`` as it is at start-up (as in new-api)."""
    if state.settings.redis_url:
        return AffinityStore(state.cache, shared=True, capacity=0)
    return AffinityStore.in_memory(settings_of(state.options.current).max_entries)


def _make_journal(settings: Settings) -> Journal:
    if settings.redis_url:
        return RedisJournal(settings.redis_url, pool_size=settings.redis_pool_size)
    return FileJournal(Path(settings.journal_dir))


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` path parts that fit a database BIGINT; larger ones match no route."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def _make_state(settings: Settings) -> AppState:
    cache = _make_cache(settings)
    entities = EntityCache(cache, settings.crypto_secret, settings.sync_frequency)
    journal = _make_journal(settings)
    writer = UsageWriter(journal)
    load_user, load_token = balance_loaders(writer)
    # Redis balances are shared and exact: they live until an admin write drops them. Memory
    # balances are per process: they also reload every SYNC_FREQUENCY to see other nodes.
    ttl = None if settings.redis_url else float(settings.sync_frequency)
    holds = journal.holds if isinstance(journal, RedisJournal) else None
    ledger = QuotaLedger(
        cache, entities, load_user=load_user, load_token=load_token, ttl=ttl, holds=holds
    )
    return AppState(
        settings=settings,
        cache=cache,
        entities=entities,
        options=OptionStore(),
        started_at=int(time.time()),
        ledger=ledger,
        writer=writer,
    )


def create_app(settings: Settings | None = None, *, hypercorn_worker: bool = False) -> Quart:
    """The app; ``hypercorn_worker`` for one of several Hypercorn worker processes
    (``newapi.asgi``), whose parent decides when it stops."""
    settings = settings or settings_from_environ()
    app = Quart("newapi")
    app.config["NEWAPI_HYPERCORN_WORKER"] = hypercorn_worker
    app.url_map.converters["int"] = BoundedIntConverter
    app.secret_key = settings.session_secret
    app.session_interface = AdminSessions()
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_body_bytes,
        SESSION_COOKIE_NAME="session",
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
    )
    # Streams last as long as the upstream keeps sending; STREAMING_TIMEOUT bounds idleness.
    app.config["RESPONSE_TIMEOUT"] = None
    app.extensions[EXTENSION] = _make_state(settings)
    for blueprint in blueprints() + relay_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(realtime_blueprint)  # also installs its websocket seam
    _install_error_handlers(app)
    http_connection.install(app)  # a request body is read only once its handler wants it
    app.before_request(_global_api_rate_limit)
    # last: only requests no route matched reach it
    console.install(
        app, Path(settings.console_dir) if settings.console_dir else console.DEFAULT_DIST
    )
    app.before_serving(_startup)
    app.after_serving(_shutdown)
    return app


async def _startup() -> None:
    state = app_state()
    settings = state.settings
    if settings.session_secret_generated:
        log.warning("SESSION_SECRET is not set: sessions use a random secret and end on restart")
    # One database per process: request tasks do not inherit the lifespan's context, so the
    # ORM context is made the process-wide fallback.
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    await migrate.check(settings)
    await state.cache.ping()
    await _open_journal(state)
    _drain_on_sigterm()
    # Load the tokenizer vocabularies once, in a thread, without delaying start-up (~0.6 s).
    state.spawn(asyncio.to_thread(tokens.warm), "tokenizer-warm")
    # The packaged model price table: imported once per process (~0.2 s), off the event loop.
    state.options.use_prices(await asyncio.to_thread(PriceTable.packaged))
    await state.options.reload()
    state.every(settings.sync_frequency, state.options.reload, "options-sync")
    state.affinity = _affinity_store(state)
    await state.channels.refresh()
    state.every(settings.sync_frequency, state.channels.refresh, "channel-sync")
    state.follow_changes()  # other workers' and nodes' admin writes, at once (Redis)
    if settings.is_master:
        state.every(TICK_SECONDS, ChannelMonitor(state).tick, "channel-monitor")
    state.http_session = aiohttp.ClientSession(
        # No cap on concurrent upstream connections, as in new-api: aiohttp's limits cap *open*
        # connections (Go's RELAY_MAX_IDLE_CONNS caps idle ones), and a cap of 100 per provider
        # queued the 101st concurrent stream behind the others (bench: open streams).
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60),
        timeout=aiohttp.ClientTimeout(total=settings.relay_timeout or None, sock_connect=15),
        auto_decompress=True,
    )
    state.access_tokens = AccessTokens(state.http_session)
    log.info(
        "newapi ready: database %s, cache %s",
        settings.database.display,
        "redis" if settings.redis_url else "memory",
    )


async def _shutdown() -> None:
    state = app_state()
    await state.stop()
    await state.writer.flush()  # what the last requests used must not be lost
    await state.writer.journal.close()  # what a failed flush kept is replayed at the next start
    if state.http_session is not None:
        await state.http_session.close()
    await state.cache.close()
    await Tortoise.close_connections()


def _drain_on_sigterm() -> None:
    """In a Hypercorn worker (``workers > 1``), SIGTERM must not end the drain.

    The parent sets the workers' shutdown event on SIGTERM, then, as soon as one worker has
    drained, sends SIGTERM to the others: with the default action, a worker still finishing
    its streams died there, without flushing. The event alone ends a worker, after its drain.
    """
    if not current_app.config.get("NEWAPI_HYPERCORN_WORKER"):
        return  # ``workers = 1``: Hypercorn's own handler drains on SIGTERM

    def noted() -> None:
        log.info("SIGTERM: draining; this worker stops when its connections are done")

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, noted)


async def _open_journal(state: AppState) -> None:
    """Apply what a killed process journaled but did not write, before serving anything."""
    writer = state.writer
    await writer.journal.open()
    replayed = await writer.replay()
    if replayed:
        log.warning("replaying %d journaled settlements of a previous process", replayed)
    await writer.flush()
    await writer.prune(APPLIED_IDS_KEPT_SECONDS)
    state.every(PRUNE_SECONDS, lambda: writer.prune(APPLIED_IDS_KEPT_SECONDS), "applied-prune")
    state.every(state.settings.batch_update_interval, writer.flush, "usage-flush")
    journal = writer.journal
    if isinstance(journal, RedisJournal):
        state.every(RENEW_SECONDS, journal.renew, "journal-lease")
    # Workers or nodes that died while this one runs (a Redis lease lapsed, a slot unlocked).
    state.every(RENEW_SECONDS, lambda: _adopt_dead_peers(writer), "journal-recovery")


async def _adopt_dead_peers(writer: UsageWriter) -> None:
    """Write what a dead worker or node journaled, now (not at the next batch)."""
    if await writer.replay():
        await writer.flush()


async def _global_api_rate_limit() -> None:
    if request.path.startswith("/api/"):
        state = app_state()
        await enforce(state.cache, state.settings.global_api_rate_limit, "GA")


def _install_error_handlers(app: Quart) -> None:
    @app.errorhandler(GatewayError)
    async def gateway_error(error: GatewayError) -> Response:
        return await _render(error)

    @app.errorhandler(IntegrityError)
    async def integrity_error(error: IntegrityError) -> Response:
        # Translated here, once: a unique column refused a duplicate.
        return json_response(
            {"success": False, "message": "a record with the same unique value already exists"}
        )

    @app.errorhandler(DBConnectionError)
    async def database_down(error: DBConnectionError) -> Response:
        # The message names the failure's type only (newapi.db.postgres): no DSN, no password.
        log.error("%s on %s %s", error, request.method, request.path)
        return await _render(ServiceUnavailable("database unavailable"))

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 413:
            mapped: GatewayError = PayloadTooLarge("request body is too large")
        elif status == 404:
            mapped = NotFound(f"Invalid URL ({request.method} {request.path})")
        elif status == 405:
            mapped = BadRequest(f"method {request.method} not allowed for {request.path}")
        else:
            mapped = BadRequest(error.description or "bad request")
        if _is_relay_path():
            return await render_error(RelayError(mapped.message, code=mapped.code, status=status))
        return json_response({"success": False, "message": mapped.message}, status)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        # The last line of defence: log the traceback, never send it.
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _is_relay_path():
            return await render_error(RelayError("internal error in the gateway"))
        return json_response({"success": False, "message": "internal server error"}, 500)


async def _render(error: GatewayError) -> Response:
    """``error`` in the caller's format: the relay's (OpenAI, Claude) or the admin envelope."""
    if _is_relay_path():
        return await render_error(error)
    body, status = admin_body(error)
    response = json_response(body, status)
    response.headers.update(error.headers)
    return response


def _is_relay_path() -> bool:
    return request.path.startswith(("/v1/", "/v1beta/", "/dashboard/"))
