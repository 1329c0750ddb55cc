"""Cookie sessions belong to the admin API and the console, never to the relay.

Relay calls carry their key in a header; opening (verifying the signature of) a session cookie
on each of them only costs time on the hot path, so relay paths get Quart's null session.

A signed cookie alone cannot be taken back, so each user has a session *epoch* in the shared
cache (Redis when configured: every node sees it). A cookie carries the epoch it was issued
under and is good only while that is still the user's epoch; logout, a password change, a
disabled or deleted account and an admin's force logout move the epoch on, which ends every
session of the user on every node at once. A missing epoch (expired, evicted) counts as moved.
"""

from __future__ import annotations

import secrets
from ipaddress import ip_address
from typing import Any

from quart import current_app, has_request_context, request, session
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface

from newapi.cache.base import Cache
from newapi.config import IPNetwork
from newapi.state import app_state

RELAY_PREFIXES = ("/v1/", "/v1beta/", "/dashboard/")
EPOCH_FIELD = "epoch"
# The epoch outlives the longest cookie issued under it (each use renews both).
_EPOCH_MARGIN_SECONDS = 3600.0


class AdminSessions(SecureCookieSessionInterface):
    async def open_session(self, app: Any, request: Any) -> SecureCookieSession | None:
        if request.path.startswith(RELAY_PREFIXES):
            return self.null_session_class()
        return await super().open_session(app, request)

    def get_cookie_secure(self, app: Any) -> bool:
        """``Secure`` when configured, or when this request came over TLS (see :func:`is_tls`)."""
        if app.config["SESSION_COOKIE_SECURE"]:
            return True
        if not has_request_context():
            return False
        forwarded = request.headers.get("X-Forwarded-Proto", "")
        trusted = app_state().settings.trusted_proxies if forwarded else ()
        return is_tls(request.scheme, request.remote_addr or "", forwarded, trusted)


def is_tls(scheme: str, peer: str, forwarded_proto: str, trusted: tuple[IPNetwork, ...]) -> bool:
    """Whether the caller reached us over TLS: directly, or through a trusted proxy that says so.

    ``X-Forwarded-Proto`` counts only from a peer in ``TRUSTED_PROXIES`` (anyone else could send
    it); of a list, the last value is the one that peer set.
    """
    if scheme in ("https", "wss"):
        return True
    proto = forwarded_proto.rsplit(",", 1)[-1].strip().lower()
    if proto != "https" or not trusted:
        return False
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted)


class SessionEpochs:
    """Each user's current session epoch, in the shared cache."""

    def __init__(self, cache: Cache, lifetime_seconds: float) -> None:
        self._cache = cache
        self._ttl = lifetime_seconds + _EPOCH_MARGIN_SECONDS

    @staticmethod
    def _key(user_id: int) -> str:
        return f"session-epoch:{user_id}"

    async def current(self, user_id: int) -> str:
        """The user's epoch, renewed; a new one when there is none (no old cookie matches it)."""
        fresh = secrets.token_hex(12).encode()
        return (await self._cache.keep(self._key(user_id), fresh, self._ttl)).decode()

    async def end_all(self, user_id: int) -> str:
        """Move the user's epoch on: every session issued so far ends. Returns the new epoch."""
        epoch = secrets.token_hex(12)
        await self._cache.set(self._key(user_id), epoch.encode(), self._ttl)
        return epoch


def session_epochs() -> SessionEpochs:
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return SessionEpochs(app_state().cache, lifetime)


async def start_session(user_id: int, fields: dict[str, Any], epoch: str | None = None) -> None:
    """Log this request's caller in as ``user_id`` (under ``epoch``, default the current one)."""
    session.clear()
    session.permanent = True
    session.update(fields)
    session["id"] = user_id
    session[EPOCH_FIELD] = epoch or await session_epochs().current(user_id)


async def session_is_current(user_id: int) -> bool:
    """Whether this request's session was issued under the user's current epoch."""
    claimed = session.get(EPOCH_FIELD)
    return isinstance(claimed, str) and claimed == await session_epochs().current(user_id)


async def end_sessions(user_id: int) -> str:
    """End every session of ``user_id`` on every node; returns the new epoch."""
    return await session_epochs().end_all(user_id)
