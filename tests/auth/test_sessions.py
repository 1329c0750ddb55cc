"""Sessions open on the admin API and the console, never on relay paths."""

from __future__ import annotations

from ipaddress import ip_network

from quart import Quart, session

from newapi.auth.sessions import AdminSessions, is_tls


def make_app() -> Quart:
    app = Quart(__name__)
    app.secret_key = "test-secret-0123456789"
    app.session_interface = AdminSessions()

    @app.get("/api/login")
    async def login() -> str:
        session["id"] = 7
        return "ok"

    @app.get("/api/who")
    async def who() -> str:
        return str(session.get("id"))

    @app.get("/v1/models")
    async def models() -> str:
        real = session._get_current_object()  # type: ignore[attr-defined]
        return f"{type(real).__name__}:{session.get('id')}"

    return app


async def test_the_cookie_works_on_api_paths_and_is_ignored_on_relay_paths() -> None:
    client = make_app().test_client()
    assert (await (await client.get("/api/login")).get_data(as_text=True)) == "ok"
    assert (await (await client.get("/api/who")).get_data(as_text=True)) == "7"
    relay = await (await client.get("/v1/models")).get_data(as_text=True)
    assert relay == "NullSession:None"


# ---- the TLS decision (pure) ------------------------------------------------------------------


def test_tls_is_direct_or_said_by_a_trusted_proxy() -> None:
    trusted = (ip_network("127.0.0.1/32"), ip_network("fd00::/8"))
    assert is_tls("https", "203.0.113.9", "", ())
    assert is_tls("http", "127.0.0.1", "https", trusted)
    assert is_tls("http", "fd00::1", "HTTPS", trusted)
    assert is_tls("http", "127.0.0.1", "http, https", trusted)
    assert not is_tls("http", "127.0.0.1", "https, http", trusted)
    assert not is_tls("http", "127.0.0.1", "https", ())
    assert not is_tls("http", "203.0.113.9", "https", trusted)
    assert not is_tls("http", "not-an-ip", "https", trusted)
