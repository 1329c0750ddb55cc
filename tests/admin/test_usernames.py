"""Usernames that hide characters are refused everywhere one is set; login takes JSON or a form."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import orjson
import pytest

from tests.support.gateway import ROOT_PASSWORD, ROOT_USER, ApiClient, Gateway

HIDDEN = {
    "nul": "ab\x00cd",
    "zero-width-space": "ab\u200bcd",
    "zero-width-non-joiner": "ab\u200ccd",
    "zero-width-joiner": "ab\u200dcd",
    "bom": "\ufeffabcd",
    "newline": "ab\ncd",
    "trailing-newline": "abcd\n",
    "tab": "\ttabx",
    "escape": "ab\x1bcd",
    "del": "ab\x7fcd",
    "bidi-override": "ab\u202ecd",
    "bidi-isolate": "ab\u2066cd",
    "soft-hyphen": "ab\u00adcd",
    "line-separator": "ab\u2028cd",
}
PASSWORD = "hidden-pass-1"


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """The module's server, without the login/register rate limit these many attempts hit."""
    server = Gateway(tmp_path_factory.mktemp("gateway"), {"CRITICAL_RATE_LIMIT_ENABLE": "false"})
    await server.start()
    yield server
    await server.stop()


def _usernames(gateway: Gateway) -> list[str]:
    with sqlite3.connect(gateway.workdir / "one-api.db", timeout=30) as db:
        return [row[0] for row in db.execute("SELECT username FROM users")]


def _refused(reply: object, name: str) -> None:
    assert reply.status < 500 and reply.body["success"] is False, reply.body  # type: ignore[attr-defined]
    assert "username" in reply.message, (name, reply.message)  # type: ignore[attr-defined]


@pytest.mark.parametrize("label", HIDDEN)
async def test_hidden_characters_are_refused_at_register_create_and_update(
    gateway: Gateway, root: ApiClient, anon: ApiClient, label: str
) -> None:
    name = HIDDEN[label]
    before = _usernames(gateway)
    _refused(await anon.post("/api/user/register", {"username": name, "password": PASSWORD}), label)
    _refused(await root.post("/api/user/", {"username": name, "password": PASSWORD}), label)
    created = await root.post("/api/user/", {"username": f"u-{label}"[:20], "password": PASSWORD})
    assert created.success, created.body
    found = await root.get("/api/user/search", params={"keyword": f"u-{label}"[:20]})
    user_id = found.data["items"][0]["id"]
    _refused(await root.put("/api/user/", {"id": user_id, "username": name}), label)
    after = _usernames(gateway)
    assert sorted(after) == sorted([*before, f"u-{label}"[:20]])


async def test_plain_unicode_names_still_work(root: ApiClient) -> None:
    for name in ("张三", "josé", "ünïcödé", "a b"):
        reply = await root.post("/api/user/", {"username": name, "password": PASSWORD})
        assert reply.success, (name, reply.body)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", b"username=root&password=x"),
        ("text/plain", b"\x00\xff garbage \xfe"),
        ("application/json", b'["root", "password"]'),
        ("application/json", b'"root"'),
        ("application/json", b"42"),
        ("application/json", b"null"),
        ("application/json", b"{"),
        ("application/json", b'{"username": ["root"], "password": "x"}'),
        ("application/json", b'{"username": "root", "password": 12345678}'),
        ("application/octet-stream", b"\x89PNG\r\n"),
        ("", b""),
    ],
)
async def test_login_refuses_bodies_that_are_neither_json_objects_nor_forms(
    anon: ApiClient, root: ApiClient, content_type: str, raw: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = await anon.request("POST", "/api/user/login", data=raw, headers=headers)
    assert reply.status < 500, reply.body
    assert isinstance(reply.body, dict) and reply.body["success"] is False, reply.body
    assert reply.message and "internal" not in reply.message


async def test_login_takes_a_form(gateway: Gateway, root: ApiClient) -> None:
    client = ApiClient(gateway.url)
    try:
        reply = await client.request(
            "POST", "/api/user/login", data={"username": ROOT_USER, "password": ROOT_PASSWORD}
        )
        assert reply.success, reply.body
        client.user_id = reply.data["id"]
        assert (await client.get("/api/user/self")).success
    finally:
        await client.close()


async def test_login_reads_json_sent_with_a_form_type(gateway: Gateway, root: ApiClient) -> None:
    # As the README's curl does: `curl -d '{...}'` labels a JSON body as a form.
    client = ApiClient(gateway.url)
    try:
        body = orjson.dumps({"username": ROOT_USER, "password": ROOT_PASSWORD})
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        reply = await client.request("POST", "/api/user/login", data=body, headers=form)
        assert reply.success, reply.body
    finally:
        await client.close()
