"""AccessTokens against the fake's OAuth token endpoint: caching, refresh before expiry,
one exchange shared by concurrent callers, refused and unreachable endpoints."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from bench.fakes import FakeProviders
from newapi.adaptors.base import ServiceAccount
from newapi.adaptors.vertex import parse_service_account
from newapi.relay.credentials import EARLY, AccessTokens, TokenExchangeFailed


@dataclass
class Clock:
    """A settable clock starting at the real time (the fake checks a grant's iat/exp)."""

    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    fake: FakeProviders
    http: aiohttp.ClientSession


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with FakeProviders.start() as fake, aiohttp.ClientSession() as http:
        yield Env(fake, http)


def account_of(info: dict[str, str]) -> ServiceAccount:
    account = parse_service_account(orjson.dumps(info).decode())
    assert account is not None
    return account


async def test_token_is_cached_per_account(env: Env) -> None:
    tokens = AccessTokens(env.http)
    one = account_of(env.fake.vertex.make_service_account(name="one"))
    two = account_of(env.fake.vertex.make_service_account(name="two"))
    first = await tokens.token(one)
    assert env.fake.vertex.identity(first) == one.client_email
    assert await tokens.token(one) == first and env.fake.vertex.grants == 1
    second = await tokens.token(two)
    assert second != first and env.fake.vertex.identity(second) == two.client_email
    assert env.fake.vertex.grants == 2


async def test_refreshed_shortly_before_expiry(env: Env) -> None:
    # The injected clock also dates the grant, which the fake checks against its own clock
    # (5 minutes of skew allowed): a short lifetime keeps the jumps small.
    clock = Clock(time.time())
    tokens = AccessTokens(env.http, clock=clock)
    env.fake.vertex.token_lifetime = EARLY + 10
    account = account_of(env.fake.vertex.make_service_account())
    first = await tokens.token(account)
    clock.now += 9  # one second before the refresh point: still cached
    assert await tokens.token(account) == first and env.fake.vertex.grants == 1
    clock.now += 2  # past it: a new exchange although the token has 299 s left
    second = await tokens.token(account)
    assert second != first and env.fake.vertex.grants == 2
    assert await tokens.token(account) == second and env.fake.vertex.grants == 2


async def test_concurrent_callers_share_one_exchange(env: Env) -> None:
    tokens = AccessTokens(env.http)
    account = account_of(env.fake.vertex.make_service_account())
    values = await asyncio.gather(*(tokens.token(account) for _ in range(20)))
    assert len(set(values)) == 1 and env.fake.vertex.grants == 1


async def test_cancelled_caller_does_not_cancel_the_shared_exchange(env: Env) -> None:
    tokens = AccessTokens(env.http)
    account = account_of(env.fake.vertex.make_service_account())
    first = asyncio.ensure_future(tokens.token(account))
    second = asyncio.ensure_future(tokens.token(account))
    await asyncio.sleep(0)
    first.cancel()
    value = await second
    assert env.fake.vertex.identity(value) == account.client_email
    assert env.fake.vertex.grants == 1


async def test_refused_grant_is_401_without_key_material(env: Env) -> None:
    tokens = AccessTokens(env.http)
    info = env.fake.vertex.make_service_account()
    stranger = env.fake.vertex.make_service_account(name="stranger")
    forged = account_of({**info, "private_key": stranger["private_key"]})
    with pytest.raises(TokenExchangeFailed) as refused:
        await tokens.token(forged)
    assert refused.value.status == 401
    assert "Invalid JWT Signature" in refused.value.message
    text = str(refused.value)
    assert "PRIVATE KEY" not in text and stranger["private_key"][60:100] not in text
    assert env.fake.vertex.grants == 0
    # A refusal is not cached: the next call asks again (and is refused again).
    with pytest.raises(TokenExchangeFailed):
        await tokens.token(forged)


async def test_unusable_private_key_is_401_before_any_exchange(env: Env) -> None:
    tokens = AccessTokens(env.http)
    info = env.fake.vertex.make_service_account()
    broken = account_of({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n"})
    with pytest.raises(TokenExchangeFailed) as refused:
        await tokens.token(broken)
    assert refused.value.status == 401 and "nope" not in str(refused.value)


async def test_unreachable_endpoint_is_status_0(env: Env) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    info = env.fake.vertex.make_service_account(token_uri=f"http://127.0.0.1:{port}/token")
    with pytest.raises(TokenExchangeFailed) as unreachable:
        await AccessTokens(env.http).token(account_of(info))
    assert unreachable.value.status == 0 and "unreachable" in unreachable.value.message


async def test_token_endpoint_server_error_keeps_its_status(env: Env) -> None:
    info = env.fake.vertex.make_service_account(token_uri=env.fake.url + "/no-such-endpoint")
    with pytest.raises(TokenExchangeFailed) as failed:
        await AccessTokens(env.http).token(account_of(info))
    # A 404 from the token URI is not the key's fault: not mapped to 401.
    assert failed.value.status == 404


async def test_forget_drops_only_the_refused_token(env: Env) -> None:
    tokens = AccessTokens(env.http)
    account = account_of(env.fake.vertex.make_service_account())
    first = await tokens.token(account)
    tokens.forget(account, "ya29.some-older-token")  # not the cached one: kept
    assert await tokens.token(account) == first and env.fake.vertex.grants == 1
    tokens.forget(account, first)
    assert await tokens.token(account) != first and env.fake.vertex.grants == 2
