"""Cookie sessions belong to the admin API and the console, never to the relay.

Relay calls carry their key in a header; opening (verifying the signature of) a session cookie
on each of them only costs time on the hot path, so relay paths get Quart's null session.
"""

from __future__ import annotations

from typing import Any

from quart.sessions import SecureCookieSession, SecureCookieSessionInterface

RELAY_PREFIXES = ("/v1/", "/v1beta/", "/dashboard/")


class AdminSessions(SecureCookieSessionInterface):
    async def open_session(self, app: Any, request: Any) -> SecureCookieSession | None:
        if request.path.startswith(RELAY_PREFIXES):
            return self.null_session_class()
        return await super().open_session(app, request)
