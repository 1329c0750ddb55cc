"""OAuth access tokens for upstreams that take service-account keys (Vertex AI).

google-auth signs the JWT grant (RS256 with the key's private key, the OAuth 2.0 JWT bearer
flow Google documents); the grant is exchanged for an access token at the key's ``token_uri``
through the relay's own aiohttp pool (non-blocking, the channel's proxy honoured). Tokens are
cached per service account until five minutes before they expire; concurrent requests for the
same account share one exchange.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import orjson
from google.auth import crypt, jwt

from newapi.adaptors.base import ServiceAccount

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600  # seconds a signed grant is valid (Google's maximum)
EARLY = 300  # refresh this long before expiry
EXCHANGE_TIMEOUT = aiohttp.ClientTimeout(total=20)


class TokenExchangeFailed(Exception):
    """The token endpoint refused the key (or could not be reached): ``status`` 0 when
    unreachable. The message never contains the key."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


def _account_id(account: ServiceAccount) -> str:
    digest = hashlib.sha256(account.private_key.encode()).hexdigest()[:16]
    return f"{account.client_email}:{digest}"


class AccessTokens:
    """The token cache of one process (lives on the app state)."""

    def __init__(self, http: aiohttp.ClientSession, clock: Callable[[], float] = time.time) -> None:
        self._http = http
        self._clock = clock
        self._tokens: dict[str, _Token] = {}
        self._pending: dict[str, asyncio.Future[_Token]] = {}

    async def token(self, account: ServiceAccount, proxy: str | None = None) -> str:
        key = _account_id(account)
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at - EARLY > self._clock():
            return cached.value
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._exchange_and_keep(key, account, proxy))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        token = await asyncio.shield(pending)
        return token.value

    def forget(self, account: ServiceAccount, value: str) -> None:
        """Drop ``value`` from the cache when the upstream refused it before its expiry (a
        revoked token): the next :meth:`token` exchanges the key again."""
        key = _account_id(account)
        cached = self._tokens.get(key)
        if cached is not None and cached.value == value:
            del self._tokens[key]

    def grant(self, account: ServiceAccount) -> str:
        """The signed JWT assertion for ``account`` (pure apart from the clock)."""
        try:
            signer = crypt.RSASigner.from_service_account_info(dict(account.info))
        except (ValueError, KeyError) as exc:
            raise TokenExchangeFailed(401, f"the service-account key is unusable ({exc})") from None
        now = int(self._clock())
        payload = {
            "iss": account.client_email,
            "scope": SCOPE,
            "aud": account.token_uri,
            "iat": now,
            "exp": now + LIFETIME,
        }
        return jwt.encode(signer, payload).decode()

    async def _exchange_and_keep(
        self, key: str, account: ServiceAccount, proxy: str | None
    ) -> _Token:
        # Cached before the exchange's future completes: a caller arriving between its end and
        # the waiters' wake-up finds the token instead of starting a second exchange.
        token = await self._exchange(account, proxy)
        self._tokens[key] = token
        return token

    async def _exchange(self, account: ServiceAccount, proxy: str | None) -> _Token:
        form = {"grant_type": GRANT_TYPE, "assertion": self.grant(account)}
        started = self._clock()
        try:
            async with self._http.post(
                account.token_uri, data=form, proxy=proxy, timeout=EXCHANGE_TIMEOUT
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TokenExchangeFailed(
                0, f"token endpoint unreachable ({type(exc).__name__})"
            ) from None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if status >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            detail = ""
            if isinstance(body, dict):
                detail = str(body.get("error_description") or body.get("error") or "")
            said = f"{status}: {detail[:200]}" if detail else str(status)
            raise TokenExchangeFailed(
                401 if status in (400, 401, 403) else status or 502,
                f"the token endpoint refused the service account ({said})",
            )
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else LIFETIME
        return _Token(str(body["access_token"]), started + seconds)
