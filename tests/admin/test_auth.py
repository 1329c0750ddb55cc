"""Setup, login, sessions, access tokens and role checks over real HTTP."""

from __future__ import annotations

from tests.support.gateway import ROOT_PASSWORD, ROOT_USER, ApiClient, Gateway


async def test_setup_runs_once_and_creates_root(gateway: Gateway, root: ApiClient) -> None:
    anon = ApiClient(gateway.url)
    try:
        status = await anon.get("/api/setup")
        assert status.data["status"] is True and status.data["root_init"] is True
        assert status.data["database_type"] == "sqlite"
        again = await anon.post(
            "/api/setup",
            {"username": "evil", "password": "12345678x", "confirmPassword": "12345678x"},
        )
        assert not again.success and "already" in again.message
        assert not (await anon.login("evil", "12345678x")).success
    finally:
        await anon.close()
    me = await root.get("/api/user/self")
    assert me.success and me.data["role"] == 100 and me.data["username"] == ROOT_USER
    assert me.data["quota"] == 100_000_000 and me.data["password"] == ""


async def test_login_rejects_wrong_password(anon: ApiClient, root: ApiClient) -> None:
    reply = await anon.login(ROOT_USER, "not-the-password")
    assert reply.status == 200 and not reply.success
    assert anon.user_id is None


async def test_self_needs_session_and_matching_header(anon: ApiClient, root: ApiClient) -> None:
    reply = await anon.get("/api/user/self")
    assert reply.status == 401 and reply.body["success"] is False
    await anon.login(ROOT_USER, ROOT_PASSWORD)
    reply = await anon.get("/api/user/self", headers={"New-Api-User": "999"})
    assert reply.status == 401 and "New-Api-User" in reply.message
    anon.user_id = None
    reply = await anon.get("/api/user/self")
    assert reply.status == 401 and "New-Api-User" in reply.message


async def test_logout_ends_session(gateway: Gateway, root: ApiClient) -> None:
    # Not root: logging out ends every session of the user, the module's root client's too.
    created = await root.post("/api/user/", {"username": "leaver", "password": "leaver-pass-1"})
    assert created.success, created.body
    client = ApiClient(gateway.url)
    try:
        assert (await client.login("leaver", "leaver-pass-1")).success
        assert (await client.get("/api/user/self")).success
        assert (await client.get("/api/user/logout")).success
        assert (await client.get("/api/user/self")).status == 401
    finally:
        await client.close()


async def test_access_token_authenticates_without_cookie(gateway: Gateway, root: ApiClient) -> None:
    token = (await root.get("/api/user/token")).data
    assert isinstance(token, str) and len(token) == 32
    client = ApiClient(gateway.url)
    try:
        client.access_token = token
        client.user_id = root.user_id
        me = await client.get("/api/user/self")
        assert me.success and me.data["id"] == root.user_id
        client.access_token = "Bearer " + token
        assert (await client.get("/api/user/self")).success
        client.access_token = token[:-1] + ("x" if token[-1] != "x" else "y")
        assert (await client.get("/api/user/self")).status == 401
        # A new token replaces the old one.
        client.access_token = token
        await root.get("/api/user/token")
        assert (await client.get("/api/user/self")).status == 401
    finally:
        await client.close()


async def test_session_cookie_is_signed_and_strict(gateway: Gateway, root: ApiClient) -> None:
    client = ApiClient(gateway.url)
    try:
        reply = await client.post(
            "/api/user/login", {"username": ROOT_USER, "password": ROOT_PASSWORD}
        )
        cookie = reply.headers.get("Set-Cookie", "")
        assert cookie.startswith("session=") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        # A forged cookie value is ignored.
        forged = ApiClient(gateway.url)
        forged.user_id = reply.data["id"]
        forged.http.cookie_jar.update_cookies({"session": "eyJpZCI6MX0.forged.sig"})
        assert (await forged.get("/api/user/self")).status == 401
        await forged.close()
    finally:
        await client.close()
