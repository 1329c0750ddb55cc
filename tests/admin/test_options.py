"""Options, groups, pricing and ratio config over real HTTP, and option sync between two nodes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartGateway
from tests.support.gateway import ROOT_PASSWORD, ROOT_USER, ApiClient, Gateway, setup_root

CAROL_PASSWORD = "carol-password-1"
SECRET_VALUE = "do-not-show-this-secret"


async def options(client: ApiClient) -> dict[str, str]:
    reply = await client.get("/api/option/")
    assert reply.success, reply.body
    assert all(set(item) == {"key", "value"} for item in reply.data)
    return {item["key"]: item["value"] for item in reply.data}


async def put(client: ApiClient, key: str, value: Any) -> Any:
    return await client.put("/api/option/", {"key": key, "value": value})


@pytest.fixture(scope="module")
async def carol(gateway: Gateway, root: ApiClient) -> AsyncIterator[ApiClient]:
    client = ApiClient(gateway.url)
    reply = await client.post(
        "/api/user/register", {"username": "carol", "password": CAROL_PASSWORD}
    )
    assert reply.success, reply.body
    assert (await client.login("carol", CAROL_PASSWORD)).success
    yield client
    await client.close()


async def test_list_hides_secret_keys(root: ApiClient) -> None:
    assert (await put(root, "GitHubClientSecret", SECRET_VALUE)).success
    assert (await put(root, "SMTPToken", SECRET_VALUE)).success
    assert (await put(root, "custom_api_key", SECRET_VALUE)).success
    assert (await put(root, "CustomNote", "kept")).success
    reply = await root.get("/api/option/")
    assert SECRET_VALUE not in json.dumps(reply.body)
    values = await options(root)
    for key in ("GitHubClientSecret", "SMTPToken", "TurnstileSecretKey", "TurnstileSiteKey"):
        assert key not in values
    assert "custom_api_key" not in values
    # Defaults and stored rows are merged; unknown stored keys are listed too.
    assert values["SystemName"] and values["RetryTimes"] == "0"
    assert values["CustomNote"] == "kept"
    assert json.loads(values["ModelRatio"])["tts-1"] > 0  # hand-typed: the price table lacks it


@pytest.mark.parametrize(
    ("key", "value", "word"),
    [
        ("ModelRatio", "not json", "ModelRatio"),
        ("ModelRatio", '{"gpt-4o": -1}', "non-negative"),
        ("ModelRatio", '{"gpt-4o": "cheap"}', "non-negative"),
        ("ModelRatio", '{"gpt-4o": NaN}', "ModelRatio"),
        ("ModelRatio", "[1, 2]", "object"),
        ("GroupRatio", '{"default": -0.5}', "non-negative"),
        ("RetryTimes", "abc", "RetryTimes"),
        ("RetryTimes", 1.5, "RetryTimes"),
        ("RetryTimes", True, "RetryTimes"),
        ("RetryTimes", "1_000", "RetryTimes"),
        ("DrawingEnabled", "yes", "DrawingEnabled"),
        ("Price", "NaN", "Price"),
        ("AutomaticDisableStatusCodes", "401,700", "AutomaticDisableStatusCodes"),
    ],
)
async def test_invalid_values_are_refused(root: ApiClient, key: str, value: Any, word: str) -> None:
    before = (await options(root))[key]
    reply = await put(root, key, value)
    assert reply.status == 200 and not reply.success
    assert word in reply.message
    assert (await options(root))[key] == before


async def test_malformed_requests(root: ApiClient) -> None:
    for body in ({"value": "1"}, {"key": "RetryTimes"}, {"key": "RetryTimes", "value": None}):
        reply = await root.put("/api/option/", body)
        assert reply.status == 200 and not reply.success, body
    raw = await root.request(
        "PUT", "/api/option/", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert raw.status == 200 and not raw.body["success"]
    assert (await options(root))["RetryTimes"] == "0"


async def test_values_are_stored_as_strings(root: ApiClient) -> None:
    assert (await put(root, "RetryTimes", 3)).success
    assert (await options(root))["RetryTimes"] == "3"
    assert (await put(root, "RetryTimes", 2.0)).success
    assert (await options(root))["RetryTimes"] == "2"
    assert (await put(root, "DrawingEnabled", False)).success
    assert (await put(root, "LogConsumeEnabled", "TRUE")).success
    values = await options(root)
    assert (values["DrawingEnabled"], values["LogConsumeEnabled"]) == ("false", "true")
    assert (await put(root, "QuotaPerUnit", 0.0000001)).success
    assert (await options(root))["QuotaPerUnit"] == "0.0000001"
    assert (await put(root, "QuotaPerUnit", 500000)).success
    assert (await put(root, "RetryTimes", 0)).success


async def test_only_root_reads_and_writes(root: ApiClient, carol: ApiClient) -> None:
    assert not (await carol.get("/api/option/")).success
    refused = await carol.put("/api/option/", {"key": "SystemName", "value": "carol's"})
    assert refused.status == 200 and not refused.success
    assert (await options(root))["SystemName"] != "carol's"


async def test_change_shows_in_status(root: ApiClient, anon: ApiClient) -> None:
    assert (await put(root, "SystemName", "Renamed Gateway")).success
    status = await anon.get("/api/status")
    assert status.data["system_name"] == "Renamed Gateway"


async def test_enabling_needs_prerequisite(root: ApiClient) -> None:
    refused = await put(root, "GitHubOAuthEnabled", True)
    assert not refused.success and "GitHubClientId" in refused.message
    assert (await options(root))["GitHubOAuthEnabled"] == "false"
    assert (await put(root, "GitHubClientId", "client-id")).success
    assert (await put(root, "GitHubOAuthEnabled", True)).success
    assert (await put(root, "GitHubOAuthEnabled", False)).success


async def test_groups(root: ApiClient, carol: ApiClient) -> None:
    assert (await put(root, "GroupRatio", {"default": 1, "vip": 0.8, "svip": 0.5})).success
    assert (await root.get("/api/group/")).data == ["default", "svip", "vip"]
    assert not (await carol.get("/api/group/")).success


def add_channel(gateway: Gateway, channel_type: int, status: int, models: str, group: str) -> None:
    with closing(sqlite3.connect(gateway.workdir / "one-api.db", timeout=30)) as conn, conn:
        conn.execute(
            'INSERT INTO channels (type, key, status, name, models, "group")'
            " VALUES (?, 'sk-secret', ?, 'c', ?, ?)",
            (channel_type, status, models, group),
        )


async def test_pricing(gateway: Gateway, root: ApiClient, anon: ApiClient) -> None:
    add_channel(gateway, 1, 1, "gpt-4o, my-unpriced-model", "default,vip")
    add_channel(gateway, 14, 1, "claude-x,gpt-4o", "default")
    add_channel(gateway, 1, 2, "disabled-only-model", "default")
    add_channel(gateway, 1, 1, "svip-only-model", "svip")
    add_channel(gateway, 1, 1, "dall-e-3", "vip")
    assert (await put(root, "GroupRatio", {"default": 1, "vip": 0.8, "svip": 0.5})).success
    assert (await put(root, "ModelRatio", {"gpt-4o": 1.25, "claude-x": 1.5})).success
    assert (await put(root, "CompletionRatio", {"gpt-4o": 4})).success
    assert (await put(root, "ModelPrice", {"dall-e-3": 0.04})).success
    assert (await put(root, "CacheRatio", {"gpt-4o": 0.5})).success
    reply = await anon.get("/api/pricing")
    body = reply.body
    assert reply.status == 200 and body["success"] is True
    assert set(body) >= {"data", "vendors", "group_ratio", "usable_group", "auto_groups"}
    rows = {item["model_name"]: item for item in body["data"]}
    # Disabled channels' models and models only in groups the visitor cannot use are absent.
    assert list(rows) == ["claude-x", "dall-e-3", "gpt-4o", "my-unpriced-model"]
    gpt = rows["gpt-4o"]
    assert (gpt["quota_type"], gpt["model_ratio"], gpt["completion_ratio"]) == (0, 1.25, 4)
    assert gpt["cache_ratio"] == 0.5 and gpt["model_price"] == 0
    assert gpt["enable_groups"] == ["default", "vip"]
    assert gpt["supported_endpoint_types"] == ["openai", "anthropic"]
    assert rows["claude-x"]["supported_endpoint_types"] == ["anthropic", "openai"]
    assert (rows["dall-e-3"]["quota_type"], rows["dall-e-3"]["model_price"]) == (1, 0.04)
    unpriced = rows["my-unpriced-model"]
    assert (unpriced["quota_type"], unpriced["model_ratio"], unpriced["model_price"]) == (0, 0, 0)
    assert "cache_ratio" not in unpriced
    assert body["group_ratio"] == {"default": 1, "vip": 0.8}
    assert body["usable_group"] == {"default": "默认分组", "vip": "vip分组"}
    assert set(body["supported_endpoint"]) == {"openai", "anthropic"}
    assert "sk-secret" not in json.dumps(body)
    # A price set now shows at once.
    assert (await put(root, "ModelRatio", {"gpt-4o": 1.25, "my-unpriced-model": 2.5})).success
    again = {item["model_name"]: item for item in (await anon.get("/api/pricing")).body["data"]}
    assert again["my-unpriced-model"]["model_ratio"] == 2.5
    assert again["claude-x"]["model_ratio"] == 0
    # Letting visitors use svip shows its models.
    usable = {"default": "默认分组", "vip": "vip分组", "svip": "svip"}
    assert (await put(root, "UserUsableGroups", usable)).success
    widened = await anon.get("/api/pricing")
    assert "svip-only-model" in {item["model_name"] for item in widened.body["data"]}
    assert widened.body["group_ratio"] == {"default": 1, "vip": 0.8, "svip": 0.5}


async def test_ratio_config_needs_expose_option(root: ApiClient, anon: ApiClient) -> None:
    assert (await put(root, "ExposeRatioEnabled", False)).success
    hidden = await anon.get("/api/ratio_config")
    assert hidden.status == 403 and hidden.body["success"] is False
    assert (await put(root, "ModelRatio", {"gpt-4o": 1.25})).success
    assert (await put(root, "ExposeRatioEnabled", True)).success
    shown = await anon.get("/api/ratio_config")
    assert shown.status == 200 and shown.success
    assert set(shown.data) == {
        "model_ratio",
        "completion_ratio",
        "cache_ratio",
        "create_cache_ratio",
        "model_price",
    }
    assert shown.data["model_ratio"] == {"gpt-4o": 1.25}
    assert (await put(root, "ExposeRatioEnabled", False)).success


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "nodes did not converge in time"
        await asyncio.sleep(0.2)


async def test_two_nodes_converge(start_gateway: StartGateway, tmp_path: Path) -> None:
    first = await start_gateway(tmp_path, SYNC_FREQUENCY="1")
    second = await start_gateway(tmp_path, SYNC_FREQUENCY="1")
    admin_a = await setup_root(first.url)
    admin_b = ApiClient(second.url)
    viewer_a, viewer_b = ApiClient(first.url), ApiClient(second.url)
    try:
        assert (await admin_b.login(ROOT_USER, ROOT_PASSWORD)).success
        assert (await put(admin_a, "SystemName", "Set On A")).success
        # The writing node applies it at once.
        assert (await viewer_a.get("/api/status")).data["system_name"] == "Set On A"

        async def b_sees_a() -> bool:
            return (await viewer_b.get("/api/status")).data["system_name"] == "Set On A"

        await wait_for(b_sees_a)
        assert (await put(admin_b, "ModelRatio", {"synced-model": 3})).success

        async def a_sees_b() -> bool:
            values = await options(admin_a)
            return json.loads(values["ModelRatio"]) == {"synced-model": 3}

        await wait_for(a_sees_b)
    finally:
        for client in (admin_a, admin_b, viewer_a, viewer_b):
            await client.close()
