"""Vertex AI: service-account OAuth (the token endpoint), access-token checks, and the
Anthropic publisher's rawPredict / streamRawPredict.

The Google publisher's methods answer with :mod:`bench.fakes.gemini` (same bodies); the
Anthropic publisher's with :mod:`bench.fakes.anthropic`, after Vertex's own body rules: no
``model`` (it is in the path) and ``anthropic_version: "vertex-2023-10-16"``.

Credentials: ``fake.vertex.make_service_account()`` returns a complete service-account JSON key
whose public key the fake knows. ``POST /token`` takes the JWT-bearer grant a client signs with
that key (RS256; ``iss`` = client_email, ``aud`` = token_uri, a ``scope`` with cloud-platform,
at most an hour long) and issues an access token that lives ``token_lifetime`` seconds. Calls
on ``/v1/projects/...`` need ``Authorization: Bearer <that token>`` (401 ``UNAUTHENTICATED``
otherwise); the key they are recorded under, and pick their scenario by, is the service
account's ``client_email``. Express mode (``/v1/publishers/google/...``) takes an API key
instead, as Gemini does.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bench.fakes.call import Call
from bench.fakes.scenario import FakeError

if TYPE_CHECKING:
    from bench.fakes.server import FakeProviders

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ANTHROPIC_VERSION = "vertex-2023-10-16"
TOKEN_PATH = "/token"
_MAX_LIFETIME = 3600  # seconds a grant assertion may span (exp - iat)
_CLOCK_SKEW = 300  # seconds of clock difference Google tolerates on iat/exp


@dataclass(frozen=True, slots=True)
class _Account:
    client_email: str
    token_uri: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class _Token:
    client_email: str
    expires_at: float  # time.time()


class GrantRefused(Exception):
    """A token request refused the way Google's OAuth endpoint does (HTTP 400)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _jwt_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signature, signed bytes) of a compact JWT."""
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header = orjson.loads(_b64url_decode(header_b64))
        claims = orjson.loads(_b64url_decode(claims_b64))
        signature = _b64url_decode(signature_b64)
    except (ValueError, binascii.Error, orjson.JSONDecodeError) as error:
        raise GrantRefused("invalid_grant", "Invalid JWT: malformed.") from error
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise GrantRefused("invalid_grant", "Invalid JWT: malformed.")
    return header, claims, signature, f"{header_b64}.{claims_b64}".encode()


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    issued, expires = claims.get("iat"), claims.get("exp")
    numbers = isinstance(issued, int | float) and isinstance(expires, int | float)
    if not numbers or not (
        0 < expires - issued <= _MAX_LIFETIME
        and issued <= now + _CLOCK_SKEW
        and expires > now - _CLOCK_SKEW
    ):
        raise GrantRefused(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )


class VertexFake:
    """The fake's Vertex AI credentials: service accounts, token grants and access tokens.

    ``grants`` counts issued tokens (a client that caches its token asks once);
    ``token_lifetime`` is the ``expires_in`` of the next tokens (shorten it to test refresh).
    """

    def __init__(self, providers: FakeProviders) -> None:
        self._providers = providers
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, _Token] = {}
        self.grants = 0
        self.token_lifetime = 3599

    @property
    def token_uri(self) -> str:
        """The fake's token endpoint (a service account's ``token_uri``)."""
        return self._providers.url + TOKEN_PATH

    def make_service_account(
        self,
        token_uri: str | None = None,
        project_id: str = "fake-project",
        name: str = "fake-sa",
    ) -> dict[str, str]:
        """A complete service-account JSON key whose public key this fake trusts.

        ``name`` becomes the local part of ``client_email`` (the key a Vertex call is recorded
        and scripted under), so ``name="fail-429"`` makes a failing channel.
        """
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        email = f"{name}@{project_id}.iam.gserviceaccount.com"
        uri = token_uri or self.token_uri
        self._accounts[email] = _Account(email, uri, private_key.public_key())
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": os.urandom(20).hex(),
            "private_key": pem.decode(),
            "client_email": email,
            "client_id": str(int.from_bytes(os.urandom(8), "big")),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + urllib.parse.quote(email),
            "universe_domain": "googleapis.com",
        }

    def identity(self, access_token: str) -> str | None:
        """The client_email an unexpired access token was issued to, else None."""
        token = self._tokens.get(access_token)
        if token is None or token.expires_at <= time.time():
            return None
        return token.client_email

    def expire_tokens(self) -> None:
        """Make every issued access token expired (a client must fetch a new one)."""
        self._tokens = {key: _Token(t.client_email, 0.0) for key, t in self._tokens.items()}

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Verify a JWT-bearer grant and issue an access token (raises GrantRefused)."""
        if form.get("grant_type") != JWT_BEARER:
            raise GrantRefused(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        assertion = form.get("assertion")
        if not assertion:
            raise GrantRefused("invalid_request", "Missing required parameter: assertion")
        account = self._verify(assertion)
        access_token = "ya29.fake-" + os.urandom(24).hex()
        lifetime = self.token_lifetime
        self._tokens[access_token] = _Token(account.client_email, time.time() + lifetime)
        self.grants += 1
        return {"access_token": access_token, "expires_in": lifetime, "token_type": "Bearer"}

    def _verify(self, assertion: str) -> _Account:
        header, claims, signature, signed = _jwt_parts(assertion)
        account = self._accounts.get(str(claims.get("iss", "")))
        if account is None:
            raise GrantRefused("invalid_grant", "Invalid grant: account not found")
        if header.get("alg") != "RS256":
            raise GrantRefused("invalid_grant", "Invalid JWT Signature.")
        try:
            account.public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as error:
            raise GrantRefused("invalid_grant", "Invalid JWT Signature.") from error
        if claims.get("aud") != account.token_uri:
            raise GrantRefused(
                "invalid_grant",
                f"Invalid JWT: Failed audience check. The expected audience is "
                f"{account.token_uri}.",
            )
        _check_times(claims, time.time())
        scopes = str(claims.get("scope", "")).split()
        if CLOUD_PLATFORM not in scopes:
            raise GrantRefused(
                "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )
        return account

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(TOKEN_PATH, self._token_endpoint)

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        try:
            body = self.grant(fields)
        except GrantRefused as refused:
            body = {"error": refused.error, "error_description": refused.description}
            return web.json_response(body, status=400, dumps=lambda v: orjson.dumps(v).decode())
        return web.json_response(body, dumps=lambda v: orjson.dumps(v).decode())


def check_anthropic(call: Call) -> FakeError | None:
    """Vertex's rules for an Anthropic Messages body, answered in Anthropic's shape."""
    body = call.body
    if not body:
        return FakeError(400, "There was an error parsing the body of your request.")
    if "model" in body:
        return FakeError(400, "model: Extra inputs are not permitted")
    version = body.get("anthropic_version")
    if version is None:
        return FakeError(400, "anthropic_version: Field required")
    if version != ANTHROPIC_VERSION:
        return FakeError(400, f"anthropic_version: Input should be '{ANTHROPIC_VERSION}'")
    for field in ("messages", "max_tokens"):
        if body.get(field) in (None, "", []):
            return FakeError(400, f"{field}: Field required")
    return None
