"""Cookie sessions belong to the admin API and the console, never to the relay.

Relay calls carry their key in a header; opening (verifying the signature of) a session cookie
on each of them only costs time on the hot path, so relay paths get Quart's null session.

A signed cookie alone cannot be taken back, so each user has a session *epoch* in the
database (``session_epochs``: shared by every node, kept across restarts of the gateway and of
Redis, and readable during a Redis outage). A cookie carries the epoch it was issued under and
is good only while that is still the user's epoch; logout, a password change, a disabled or
deleted account and an admin's force logout move the epoch on, which ends every session of the
user on every node at once. Checking it is one primary-key read per admin request (the admin
guard reads the user row anyway); relay paths never open sessions.
"""

from __future__ import annotations

import secrets
from ipaddress import ip_address
from typing import Any

from quart import has_request_context, request, session
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface
from tortoise.exceptions import IntegrityError

from newapi.config import IPNetwork
from newapi.models.session_epoch import SessionEpoch
from newapi.state import app_state

RELAY_PREFIXES = ("/v1/", "/v1beta/", "/dashboard/")
EPOCH_FIELD = "epoch"


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


async def current_epoch(user_id: int) -> str:
    """The user's session epoch; a new one when there is none yet (no old cookie matches it)."""
    row = await SessionEpoch.get_or_none(user_id=user_id)
    if row is not None:
        return row.epoch
    try:
        created = await SessionEpoch.create(user_id=user_id, epoch=secrets.token_hex(12))
    except IntegrityError:  # another request made it first: that one counts
        return (await SessionEpoch.get(user_id=user_id)).epoch
    return created.epoch


async def end_sessions(user_id: int) -> str:
    """End every session of ``user_id`` on every node (its epoch moves on); the new epoch."""
    epoch = secrets.token_hex(12)
    if not await SessionEpoch.filter(user_id=user_id).update(epoch=epoch):
        try:
            await SessionEpoch.create(user_id=user_id, epoch=epoch)
        except IntegrityError:  # made meanwhile by current_epoch(): move it on all the same
            await SessionEpoch.filter(user_id=user_id).update(epoch=epoch)
    return epoch


async def start_session(user_id: int, fields: dict[str, Any], epoch: str | None = None) -> None:
    """Log this request's caller in as ``user_id`` (under ``epoch``, default the current one)."""
    session.clear()
    session.permanent = True
    session.update(fields)
    session["id"] = user_id
    session[EPOCH_FIELD] = epoch or await current_epoch(user_id)


async def session_is_current(user_id: int) -> bool:
    """Whether this request's session was issued under the user's current epoch."""
    claimed = session.get(EPOCH_FIELD)
    return isinstance(claimed, str) and claimed == await current_epoch(user_id)
