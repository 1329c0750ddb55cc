"""Every numeric admin field, fed every kind of bad number, over real HTTP.

Each case posts one bad value to one field and checks: an answer below 500, ``success:
false``, a message naming the field, and the row (or the table, for creates) unchanged in the
server's SQLite file. Bad values go in as raw JSON text, so numbers Python's json cannot even
write (a 5,000-digit integer) reach the server as sent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from tests.support.gateway import ApiClient, Gateway, Reply

SENTINEL = "__BAD_VALUE__"

# JSON literals that no integer field accepts (Go's encoding/json refuses each of them too).
BAD_JSON = {
    "superscript": '"²"',
    "double-minus": '"--5"',
    "numeric-string": '"5"',
    "arabic-digit": '"٣"',
    "5000-digits": "9" * 5000,
    "beyond-u64": "18446744073709551616",
    "u64-max": "18446744073709551615",
    "below-i64": "-9223372036854775809",
    "float": "1.5",
    "integral-float": "2.0",
    "exponent": "1e3",
    "true": "true",
    "list": "[1]",
    "object": '{"n": 1}',
}
NEGATIVE = {"negative": "-5"}
# Query and path values that are not a plain ASCII integer in range.
BAD_TEXT = ["²", "--5", "٣", "9" * 5000, "18446744073709551616", "1.5", "true", "1e3", "0x10"]


@dataclass(frozen=True)
class Field:
    method: str
    path: str
    body: dict[str, Any]
    field: str
    table: str
    row_id: str  # key of the fixture's ids; "" = a create: the table's row count must not move
    negative_bad: bool = True

    def name(self) -> str:
        return f"{self.method} {self.path} {self.field}"


def _db(gateway: Gateway) -> sqlite3.Connection:
    return sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)


def _snapshot(gateway: Gateway, table: str, row_id: int | None) -> Any:
    with _db(gateway) as db:
        if row_id is None:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        return db.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()


@pytest.fixture(scope="module")
async def ids(gateway: Gateway, root: ApiClient) -> dict[str, int]:
    token = await root.post("/api/token/", {"name": "numbers", "remain_quota": 10})
    assert token.success, token.body
    user = await root.post("/api/user/", {"username": "numbers", "password": "numbers-pass-1"})
    assert user.success, user.body
    found = await root.get("/api/user/search", params={"keyword": "numbers"})
    codes = await root.post("/api/redemption/", {"name": "numbers", "quota": 10})
    assert codes.success, codes.body
    channel = await root.post(
        "/api/channel/",
        {"mode": "single", "channel": {"type": 1, "name": "numbers", "key": "sk-n", "models": "m"}},
    )
    assert channel.success, channel.body
    with _db(gateway) as db:
        (code_id,) = db.execute("SELECT id FROM redemptions WHERE name = 'numbers'").fetchone()
    return {
        "token": token.data["id"],
        "user": found.data["items"][0]["id"],
        "redemption": code_id,
        "channel": channel.data[0],
    }


def _fields() -> list[Field]:
    user = {"id": "user", "username": "numbers"}
    return [
        *(
            Field("PUT", "/api/token/", {"id": "token"}, f, "tokens", "token")
            for f in ("id", "remain_quota", "status")
        ),
        Field("PUT", "/api/token/", {"id": "token"}, "expired_time", "tokens", "token", False),
        *(
            Field("POST", "/api/token/", {"name": "n"}, f, "tokens", "")
            for f in ("remain_quota", "expired_time")
        ),
        *(Field("PUT", "/api/user/", user, f, "users", "user") for f in ("id", "quota", "role")),
        Field(
            "POST", "/api/user/", {"username": "n2", "password": "pw-12345678"}, "role", "users", ""
        ),
        *(
            Field(
                "POST",
                "/api/user/manage",
                {"id": "user", "action": "add_quota", "mode": "add", "value": 1},
                f,
                "users",
                "user",
            )
            for f in ("id", "value")
        ),
        *(
            Field("POST", "/api/redemption/", {"name": "n", "quota": 1}, f, "redemptions", "")
            for f in ("quota", "count", "expired_time")
        ),
        *(
            Field("PUT", "/api/redemption/", {"id": "redemption"}, f, "redemptions", "redemption")
            for f in ("id", "quota", "expired_time", "status")
        ),
        *(
            Field("PUT", "/api/channel/", {"id": "channel"}, f, "channels", "channel")
            for f in ("id", "type", "status", "weight", "auto_ban")
        ),
        Field("PUT", "/api/channel/", {"id": "channel"}, "priority", "channels", "channel", False),
        *(
            Field(
                "POST",
                "/api/channel/",
                {"mode": "single", "channel": {"name": "n", "key": "k", "models": "m", "type": 1}},
                f,
                "channels",
                "",
            )
            for f in ("type", "status", "weight")
        ),
    ]


def _raw_body(field: Field, ids: dict[str, int], literal: str) -> bytes:
    body = {k: ids.get(v, v) if k == "id" else v for k, v in field.body.items()}
    if "channel" in body:
        body = {**body, "channel": {**body["channel"], field.field: SENTINEL}}
    else:
        body = {**body, field.field: SENTINEL}
    return orjson.dumps(body).replace(f'"{SENTINEL}"'.encode(), literal.encode())


def _refused(reply: Reply, field: str) -> None:
    assert reply.status < 500, reply.body
    assert isinstance(reply.body, dict) and reply.body.get("success") is False, reply.body
    assert field in reply.message, reply.message


async def test_bad_numbers_in_bodies_are_refused_and_change_nothing(
    gateway: Gateway, root: ApiClient, ids: dict[str, int]
) -> None:
    failures = []
    for field in _fields():
        values = {**BAD_JSON, **(NEGATIVE if field.negative_bad else {})}
        row_id = ids[field.row_id] if field.row_id else None
        for label, literal in values.items():
            before = _snapshot(gateway, field.table, row_id)
            reply = await root.request(
                field.method,
                field.path,
                data=_raw_body(field, ids, literal),
                headers={"Content-Type": "application/json"},
            )
            try:
                _refused(reply, field.field)
                assert _snapshot(gateway, field.table, row_id) == before, "the row changed"
            except AssertionError as exc:
                failures.append(f"{field.name()} = {label}: {reply.status} {str(exc)[:160]}")
    assert not failures, "\n".join(failures)


QUERIES = [
    ("/api/user/", "p"),
    ("/api/user/", "page_size"),
    ("/api/token/", "p"),
    ("/api/token/", "page_size"),
    ("/api/channel/", "page_size"),
    ("/api/channel/", "type"),
    ("/api/redemption/", "p"),
    ("/api/user/search", "role"),
    ("/api/user/search", "status"),
    ("/api/log/", "type"),
    ("/api/log/", "start_timestamp"),
    ("/api/log/", "channel"),
    ("/api/data/", "start_timestamp"),
]


async def test_bad_numbers_in_query_strings_are_refused(root: ApiClient) -> None:
    failures = []
    for path, name in QUERIES:
        extra = ["-5"] if name == "page_size" else []
        for value in BAD_TEXT + extra:
            fixed = {"start_timestamp": "1", "end_timestamp": "2"} if path == "/api/data/" else {}
            reply = await root.get(path, params={**fixed, name: value})
            try:
                _refused(reply, f"query parameter {name}")
            except AssertionError as exc:
                failures.append(f"{path}?{name}={value[:20]}: {reply.status} {str(exc)[:160]}")
    assert not failures, "\n".join(failures)


PATHS = [
    ("GET", "/api/token/{}"),
    ("DELETE", "/api/token/{}"),
    ("GET", "/api/user/{}"),
    ("DELETE", "/api/user/{}"),
    ("GET", "/api/channel/{}"),
    ("DELETE", "/api/channel/{}"),
    ("GET", "/api/redemption/{}"),
    ("DELETE", "/api/redemption/{}"),
    ("POST", "/api/channel/copy/{}"),
    ("GET", "/api/channel/test/{}"),
]


async def test_bad_path_ids_are_refused(root: ApiClient) -> None:
    failures = []
    for method, template in PATHS:
        for value in [*BAD_TEXT, "-1", "0", "9223372036854775808"]:
            reply = await root.request(method, template.format(value))
            try:
                _refused(reply, "id")
            except AssertionError as exc:
                failures.append(f"{method} {template} {value[:20]}: {reply.status} {exc}"[:200])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("code", ["²", "٣٠٠", "9" * 5000, "--500"])
async def test_status_code_mappings_take_ascii_codes_only(
    gateway: Gateway, root: ApiClient, ids: dict[str, int], code: str
) -> None:
    before = _snapshot(gateway, "channels", ids["channel"])
    for mapping in ({code: "500"}, {"400": code}):
        body = {"id": ids["channel"], "status_code_mapping": mapping}
        _refused(await root.put("/api/channel/", body), "status_code_mapping")
    assert _snapshot(gateway, "channels", ids["channel"]) == before
    good = {"id": ids["channel"], "status_code_mapping": {" 400 ": "500"}}
    assert (await root.put("/api/channel/", good)).success


async def test_good_numbers_still_work(root: ApiClient, ids: dict[str, int]) -> None:
    quota = await root.put("/api/user/", {"id": ids["user"], "username": "numbers", "quota": 77})
    assert quota.success, quota.body
    token = await root.put("/api/token/", {"id": ids["token"], "remain_quota": 5})
    assert token.success and token.data["remain_quota"] == 5, token.body
    paged = await root.get("/api/user/", params={"p": "+1", "page_size": " 2 "})
    assert paged.success and paged.data["page_size"] == 2, paged.body
    default = await root.get("/api/user/", params={"page_size": "0"})
    assert default.success and default.data["page_size"] == 10, default.body
    one = await root.get(f"/api/channel/{ids['channel']}")
    assert one.success and one.data["id"] == ids["channel"], one.body
    option = await root.put("/api/option/", {"key": "QuotaForNewUser", "value": "123"})
    assert option.success, option.body


@pytest.mark.parametrize(
    "value", ["²", "--5", "٣", "9" * 5000, "18446744073709551616", 2**64, 1.5, True, [1]]
)
async def test_bad_integer_options_are_refused(
    gateway: Gateway, root: ApiClient, value: Any
) -> None:
    with _db(gateway) as db:
        before = db.execute("SELECT * FROM options WHERE key = 'QuotaForNewUser'").fetchall()
    reply = await root.put("/api/option/", {"key": "QuotaForNewUser", "value": value})
    _refused(reply, "QuotaForNewUser")
    with _db(gateway) as db:
        after = db.execute("SELECT * FROM options WHERE key = 'QuotaForNewUser'").fetchall()
    assert after == before
    status = await root.get("/api/status")
    assert status.status == 200
