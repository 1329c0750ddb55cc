"""``POST /v1/realtime/sessions`` and ``/v1/realtime/client_secrets`` relayed with the SDK."""

from __future__ import annotations

import orjson
import pytest
from openai import AsyncOpenAI, AuthenticationError, BadRequestError

from newapi.protocol.depth import MAX_DEPTH
from tests.realtime.conftest import Realtime
from tests.relay.conftest import all_logs

AZURE = 3


def client(rt: Realtime, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=rt.gateway.url + "/v1", api_key=key, max_retries=0)


async def test_beta_session_and_ga_client_secret_with_model_mapping(rt: Realtime) -> None:
    mapping = orjson.dumps({"gpt-realtime-eph": "gpt-realtime-2025-08-28"}).decode()
    await rt.price("gpt-realtime-eph", 2)
    await rt.price("gpt-4o-realtime-preview", 2.5)
    await rt.channel(
        key="sk-eph-up",
        models="gpt-realtime-eph,gpt-4o-realtime-preview",
        model_mapping=mapping,
        name="eph",
        priority=50,
    )
    key = await rt.key(name="eph app")
    sdk = client(rt, key)
    session = await sdk.beta.realtime.sessions.create(model="gpt-4o-realtime-preview")
    assert session.client_secret.value.startswith("ek_")
    assert rt.fake.last.path == "/v1/realtime/sessions"
    assert rt.fake.last.headers["Authorization"] == "Bearer sk-eph-up"
    secret = await sdk.realtime.client_secrets.create(
        session={"type": "realtime", "model": "gpt-realtime-eph"}
    )
    assert secret.value.startswith("ek_")
    sent = rt.fake.last
    assert sent.path == "/v1/realtime/client_secrets"
    assert sent.json["session"]["model"] == "gpt-realtime-2025-08-28"
    logs = await all_logs(rt, 2, token_name="eph app")
    assert sorted(log["model_name"] for log in logs) == [
        "gpt-4o-realtime-preview",
        "gpt-realtime-eph",
    ]
    assert [log["quota"] for log in logs] == [0, 0]  # no token usage reported


async def test_azure_v1_client_secret_and_a_bad_key(rt: Realtime) -> None:
    await rt.price("gpt-realtime-azeph", 2)
    await rt.channel(
        type=AZURE,
        key="azure-eph-key-0123456789",
        models="gpt-realtime-azeph",
        other="v1",
        name="azeph",
    )
    key = await rt.key()
    secret = await client(rt, key).realtime.client_secrets.create(
        session={"type": "realtime", "model": "gpt-realtime-azeph"}
    )
    assert secret.value.startswith("ek_")
    assert rt.fake.last.path == "/openai/v1/realtime/client_secrets"
    assert rt.fake.last.headers["api-key"] == "azure-eph-key-0123456789"
    with pytest.raises(AuthenticationError):
        await client(rt, "sk-wrong").realtime.client_secrets.create(
            session={"type": "realtime", "model": "gpt-realtime-azeph"}
        )


async def test_a_body_nested_too_deep_is_a_400_before_any_upstream_call(rt: Realtime) -> None:
    await rt.price("gpt-realtime-deep", 2)
    await rt.channel(key="sk-eph-deep", models="gpt-realtime-deep", name="deep")
    key = await rt.key(name="deep app")
    deep: object = "x"
    for _ in range(300):  # orjson reads it but cannot write it back: was a 500
        deep = [deep]
    with pytest.raises(BadRequestError) as refused:
        await client(rt, key).beta.realtime.sessions.create(
            model="gpt-realtime-deep", extra_body={"tools": deep}
        )
    error = refused.value.body
    assert isinstance(error, dict) and error["type"] == "invalid_request_error", error
    assert f"more than {MAX_DEPTH} levels" in error["message"]
    assert rt.fake.requests_for("sk-eph-deep") == []
