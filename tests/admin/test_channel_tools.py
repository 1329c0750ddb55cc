"""Copy a channel; fetch a provider's model list through the channel type's adaptor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bench.fakes import FakeProviders
from bench.fakes.scenario import DEFAULT_MODELS
from tests.support.gateway import ApiClient

SECRET = "sk-upstream-secret-tools-01"


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as providers:
        yield providers


async def create(root: ApiClient, **fields: Any) -> int:
    body = {"type": 1, "name": "src", "key": SECRET, "models": "gpt-4o", "group": "default"}
    reply = await root.post("/api/channel/", {"mode": "single", "channel": {**body, **fields}})
    assert reply.success, reply.body
    return int(reply.data[0])


async def test_copy_keeps_the_settings_and_starts_counters_afresh(root: ApiClient) -> None:
    source = await create(
        root,
        name="original",
        models="gpt-4o,gpt-4o-mini",
        group="default,vip",
        priority=5,
        weight=3,
        model_mapping='{"gpt-4o": "gpt-4o-2024-11-20"}',
    )
    reply = await root.post(f"/api/channel/copy/{source}", params={"suffix": "-b"})
    assert reply.success, reply.body
    copy_id = int(reply.data["id"])
    assert copy_id != source
    original = (await root.get(f"/api/channel/{source}")).data
    copy = (await root.get(f"/api/channel/{copy_id}")).data
    assert copy["name"] == "original-b"
    for field in ("type", "models", "group", "priority", "weight", "model_mapping", "status"):
        assert copy[field] == original[field], field
    assert copy["used_quota"] == 0 and copy["test_time"] == 0
    assert (await root.post(f"/api/channel/{copy_id}/key")).data == {"key": SECRET}
    assert SECRET not in str(reply.body)
    missing = await root.post("/api/channel/copy/999999")
    assert not missing.success and "not found" in missing.message


async def test_fetch_models_through_openai_and_anthropic_adaptors(
    root: ApiClient, fake: FakeProviders
) -> None:
    openai_channel = await create(root, name="oa", base_url=fake.url)
    anthropic_channel = await create(root, name="an", type=14, base_url=fake.url)
    for channel_id in (openai_channel, anthropic_channel):
        reply = await root.get(f"/api/channel/fetch_models/{channel_id}")
        assert reply.success, reply.body
        assert reply.data == sorted(DEFAULT_MODELS)
    sent = fake.requests[-1]
    assert sent.path == "/v1/models" and sent.headers["x-api-key"] == SECRET
    assert sent.headers["anthropic-version"]
    posted = await root.post(
        "/api/channel/fetch_models", {"base_url": fake.url, "type": 1, "key": SECRET}
    )
    assert posted.success and posted.data == sorted(DEFAULT_MODELS)
    assert fake.requests[-1].headers["Authorization"] == f"Bearer {SECRET}"


async def test_fetch_models_refusals(root: ApiClient, fake: FakeProviders) -> None:
    azure = await create(root, name="az", type=3, base_url=fake.url, other="2024-10-21")
    refused = await root.get(f"/api/channel/fetch_models/{azure}")
    assert not refused.success and "Azure" in refused.message
    bad_key = "sk-wrong-key-fail-401-abcdef"
    denied = await root.post(
        "/api/channel/fetch_models", {"base_url": fake.url, "type": 1, "key": bad_key}
    )
    assert not denied.success and denied.message.startswith("the upstream refused")
    assert bad_key not in denied.message
    no_key = await root.post("/api/channel/fetch_models", {"base_url": fake.url, "type": 1})
    assert not no_key.success and "key is required" in no_key.message
