"""What a key's holder reads about the key: OpenAI's billing views and new-api's key views."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import aiohttp
import pytest

from tests.relay.conftest import Relay, new_key, new_user

HELLO = [{"role": "user", "content": "hi"}]
PER_REQUEST = 135  # gpt-4o-mini: (1000 + 200 x 4) x 0.075
ONE_USD = 500_000
SUBSCRIPTION = ("/v1/dashboard/billing/subscription", "/dashboard/billing/subscription")
USAGE = ("/v1/dashboard/billing/usage", "/dashboard/billing/usage")


async def call(
    relay: Relay,
    path: str,
    key: str | None = None,
    *,
    method: str = "GET",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request with no session; the key (if any) as a Bearer header."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, relay.gateway.url + path, params=params, headers=sent) as resp,
    ):
        raw = await resp.read()
        body = await resp.json(content_type=None) if raw else None
        return resp.status, body, dict(resp.headers)


async def chat(relay: Relay, key: str, completion_tokens: int = 200) -> None:
    relay.fake.scenario.prompt_tokens = 1000
    relay.fake.scenario.completion_tokens = completion_tokens
    await relay.openai(key).chat.completions.create(model="gpt-4o-mini", messages=HELLO)


async def limited_key(relay: Relay, **fields: Any) -> tuple[int, str]:
    return await new_key(relay.root, unlimited_quota=False, remain_quota=ONE_USD, **fields)


# ---- OpenAI's billing views --------------------------------------------------------------------


async def test_subscription_and_usage_of_a_limited_key(relay: Relay) -> None:
    await relay.channel()
    expiry = int(time.time()) + 86_400
    _, key = await limited_key(relay, expired_time=expiry)
    for path in SUBSCRIPTION:
        status, body, headers = await call(relay, path, key)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
        assert body == {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": 1.0,
            "hard_limit_usd": 1.0,
            "system_hard_limit_usd": 1.0,
            "access_until": expiry,
        }
    await chat(relay, key)
    await chat(relay, key)
    await relay.logs(2)
    for path in USAGE:
        status, body, _ = await call(relay, path, key, params={"start_date": "2020-01-01"})
        assert status == 200 and body["object"] == "list"
        assert body["total_usage"] == pytest.approx(2 * PER_REQUEST / ONE_USD * 100)
    # What was granted stays the limit: remain went down by what used went up.
    _, body, _ = await call(relay, SUBSCRIPTION[0], key)
    assert body["hard_limit_usd"] == pytest.approx(1.0)


async def test_figures_come_from_the_database(relay: Relay) -> None:
    await relay.channel()
    token_id, key = await limited_key(relay)
    await chat(relay, key)  # the relay has the token cached now
    await relay.logs(1)
    with sqlite3.connect(relay.gateway.workdir / "one-api.db") as db:
        query = "UPDATE tokens SET remain_quota = ?, used_quota = 0 WHERE id = ?"
        db.execute(query, (3 * ONE_USD, token_id))
    db.close()
    _, body, _ = await call(relay, SUBSCRIPTION[0], key)
    assert body["hard_limit_usd"] == pytest.approx(3.0)
    _, body, _ = await call(relay, USAGE[0], key)
    assert body["total_usage"] == 0


async def test_unlimited_key_user_figures_and_display_units(relay: Relay) -> None:
    await relay.channel()
    unlimited = await relay.key()
    _, body, _ = await call(relay, SUBSCRIPTION[0], unlimited)
    assert body["hard_limit_usd"] == body["soft_limit_usd"] == 100_000_000
    assert body["access_until"] == 0
    _, limited = await limited_key(relay)
    await relay.option("general_setting.quota_display_type", "CNY")
    _, body, _ = await call(relay, SUBSCRIPTION[0], limited)
    assert body["hard_limit_usd"] == pytest.approx(7.3)
    await relay.option("general_setting.quota_display_type", "TOKENS")
    _, body, _ = await call(relay, SUBSCRIPTION[0], limited)
    assert body["hard_limit_usd"] == ONE_USD
    await relay.option("general_setting.quota_display_type", "USD")
    # Without DisplayTokenStatEnabled the owner's wallet is shown, whichever key asks.
    await relay.option("DisplayTokenStatEnabled", False)
    await chat(relay, unlimited)
    await relay.logs(1)
    me = await relay.root.get("/api/user/self")
    wallet = me.data["quota"] + me.data["used_quota"]
    for key in (unlimited, limited):
        _, body, _ = await call(relay, SUBSCRIPTION[0], key)
        assert body["hard_limit_usd"] == pytest.approx(wallet / ONE_USD)
        assert body["access_until"] == 0
        _, body, _ = await call(relay, USAGE[0], key)
        assert body["total_usage"] == pytest.approx(PER_REQUEST / ONE_USD * 100)


async def test_bad_keys_get_openai_errors(relay: Relay) -> None:
    token_id, key = await limited_key(relay)
    for path in (SUBSCRIPTION[0], USAGE[1]):
        status, body, headers = await call(relay, path, "sk-" + "q" * 48)
        assert status == 401 and body["error"]["type"] == "authentication_error"
        assert headers["Access-Control-Allow-Origin"] == "*"
        status, body, _ = await call(relay, path)
        assert status == 401 and "error" in body
    disabled = await relay.root.put("/api/token/?status_only=1", {"id": token_id, "status": 2})
    assert disabled.success, disabled.body
    status, body, _ = await call(relay, SUBSCRIPTION[1], key)
    assert status == 401 and body["error"]["message"]


async def test_preflight_allows_any_origin(relay: Relay) -> None:
    for path in (SUBSCRIPTION[0], "/api/log/token"):
        status, _, headers = await call(
            relay,
            path,
            method="OPTIONS",
            headers={
                "Origin": "https://neko.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert headers["Access-Control-Allow-Headers"] == "authorization"
        assert "GET" in headers["Access-Control-Allow-Methods"]


# ---- new-api's key views -----------------------------------------------------------------------


async def test_token_usage_view(relay: Relay) -> None:
    await relay.channel()
    expiry = int(time.time()) + 3600
    _, key = await limited_key(
        relay,
        name="reader",
        expired_time=expiry,
        model_limits_enabled=True,
        model_limits="gpt-4o-mini,gpt-4o",
    )
    await chat(relay, key)
    await relay.logs(1)
    for path in ("/api/usage/token/", "/api/usage/token"):
        status, body, headers = await call(relay, path, key)
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
        assert body == {
            "code": True,
            "message": "ok",
            "data": {
                "object": "token_usage",
                "name": "reader",
                "total_granted": ONE_USD,
                "total_used": PER_REQUEST,
                "total_available": ONE_USD - PER_REQUEST,
                "unlimited_quota": False,
                "model_limits": {"gpt-4o-mini": True, "gpt-4o": True},
                "model_limits_enabled": True,
                "expires_at": expiry,
            },
        }
    unlimited = await relay.key()
    _, body, _ = await call(relay, "/api/usage/token/", unlimited)
    data = body["data"]
    assert data["unlimited_quota"] is True and data["expires_at"] == 0
    assert data["model_limits"] == {} and data["model_limits_enabled"] is False


async def test_key_views_refuse_in_new_apis_envelope(relay: Relay) -> None:
    _, key = await limited_key(relay)
    for path in ("/api/usage/token/", "/api/log/token"):
        status, body, headers = await call(relay, path, "sk-" + "w" * 48)
        assert status == 401 and body["success"] is False and body["message"]
        assert headers["Access-Control-Allow-Origin"] == "*"
        status, body, _ = await call(relay, path)
        assert status == 401 and body["success"] is False
    # Only /api/log/token takes the key from the query string.
    status, body, _ = await call(relay, "/api/usage/token/", params={"key": key})
    assert status == 401 and body["success"] is False
    status, body, _ = await call(relay, "/api/log/token", params={"key": "sk-" + "w" * 48})
    assert status == 401 and body["success"] is False


async def test_expired_keys_may_read_disabled_keys_and_banned_owners_may_not(
    relay: Relay,
) -> None:
    _, expired = await limited_key(relay, expired_time=int(time.time()) - 60)
    for path in ("/api/usage/token/", "/api/log/token"):
        status, _, _ = await call(relay, path, expired)
        assert status == 200
    token_id, disabled = await limited_key(relay)
    reply = await relay.root.put("/api/token/?status_only=1", {"id": token_id, "status": 2})
    assert reply.success, reply.body
    user_id, client = await new_user(relay, "soon-banned", ONE_USD)
    _, owned = await new_key(client)
    await client.close()
    reply = await relay.root.post("/api/user/manage", {"id": user_id, "action": "disable"})
    assert reply.success, reply.body
    for path in ("/api/usage/token/", "/api/log/token"):
        status, body, _ = await call(relay, path, disabled)
        assert status == 401 and body["success"] is False
        status, body, _ = await call(relay, path, owned)
        assert status == 403 and body["success"] is False


async def test_key_logs_newest_first_in_the_users_view(relay: Relay) -> None:
    await relay.channel()
    _, key = await limited_key(relay, name="mine")
    other = await relay.key(name="other")
    await chat(relay, key, completion_tokens=200)
    await relay.logs(1)
    await chat(relay, key, completion_tokens=300)
    await chat(relay, other)
    await relay.logs(3)
    # neko-api-key-tool's call: the key in the query string, no header.
    status, body, headers = await call(relay, "/api/log/token", params={"key": key})
    assert status == 200 and body["success"] is True
    assert headers["Access-Control-Allow-Origin"] == "*"
    rows = body["data"]
    assert [row["completion_tokens"] for row in rows] == [300, 200]
    assert [row["id"] for row in rows] == [1, 2]  # running numbers, not database ids
    assert {row["token_name"] for row in rows} == {"mine"}
    assert all(row["channel_name"] == "" for row in rows)
    newest = rows[0]
    assert newest["model_name"] == "gpt-4o-mini" and newest["type"] == 2
    assert newest["quota"] == round((1000 + 300 * 4) * 0.075)
    assert "admin_info" not in newest["other"] and "model_ratio" in newest["other"]
    _, by_header, _ = await call(relay, "/api/log/token", key)
    assert [row["completion_tokens"] for row in by_header["data"]] == [300, 200]
    _, fresh, _ = await call(relay, "/api/log/token", await relay.key())
    assert fresh == {"success": True, "message": "", "data": []}


async def test_every_relay_route_allows_any_origin(relay: Relay) -> None:
    """Browser apps call the relay directly with a key: preflights and answers carry CORS."""
    await relay.channel()
    key = await relay.key()
    async with aiohttp.ClientSession() as http:
        for path in ("/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings"):
            async with http.options(
                relay.gateway.url + path,
                headers={
                    "Origin": "https://app.example",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            ) as resp:
                assert resp.status == 200, path
                assert resp.headers["Access-Control-Allow-Origin"] == "*"
                assert "POST" in resp.headers["Access-Control-Allow-Methods"]
                assert resp.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
                assert "Access-Control-Allow-Credentials" not in resp.headers
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        for auth, status in ((f"Bearer {key}", 200), ("Bearer sk-wrong", 401)):
            async with http.post(
                relay.gateway.url + "/v1/chat/completions",
                json=chat,
                headers={"Authorization": auth, "Origin": "https://app.example"},
            ) as resp:
                assert resp.status == status
                assert resp.headers["Access-Control-Allow-Origin"] == "*"
                assert "X-Oneapi-Request-Id" in resp.headers["Access-Control-Expose-Headers"]
