"""The Vertex AI fake: service-account OAuth with JWTs signed by google-auth, the Google and
Anthropic publishers, express mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from google import genai
from google.auth import crypt, jwt
from google.genai import types

from bench.fakes import FakeError, FakeProviders, Scenario, split_text
from bench.fakes.vertex import ANTHROPIC_VERSION, CLOUD_PLATFORM, JWT_BEARER

MODEL = "gemini-2.5-flash"
CLAUDE = "claude-sonnet-4@20250514"
CONTENTS: list[Any] = [{"role": "user", "parts": [{"text": "Say hello"}]}]
CLAUDE_BODY: dict[str, Any] = {
    "anthropic_version": ANTHROPIC_VERSION,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Say hello"}],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with FakeProviders.start() as server:
        yield server


def assertion(account: dict[str, str], **claims: Any) -> str:
    """A JWT-bearer grant signed with the account's key, as google-auth signs it."""
    now = int(time.time())
    payload = {
        "iss": account["client_email"],
        "aud": account["token_uri"],
        "scope": CLOUD_PLATFORM,
        "iat": now,
        "exp": now + 3600,
    } | claims
    signer = crypt.RSASigner.from_service_account_info(account)
    return jwt.encode(signer, payload).decode()


async def grant(fake: FakeProviders, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.vertex.token_uri, data=form) as resp,
    ):
        return resp.status, await resp.json()


async def access_token(fake: FakeProviders, account: dict[str, str]) -> str:
    status, body = await grant(fake, {"grant_type": JWT_BEARER, "assertion": assertion(account)})
    assert status == 200, body
    return str(body["access_token"])


def vertex_path(
    model: str, method: str, location: str = "us-central1", publisher: str = "google"
) -> str:
    where = f"/v1/projects/fake-project/locations/{location}"
    return f"{where}/publishers/{publisher}/models/{model}:{method}"


async def post(
    fake: FakeProviders, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, str, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + path, json=body, headers=headers) as resp,
    ):
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_service_account_key_is_complete(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account(project_id="proj-1")
    assert account["type"] == "service_account"
    assert account["project_id"] == "proj-1"
    assert account["client_email"] == "fake-sa@proj-1.iam.gserviceaccount.com"
    assert account["token_uri"] == fake.url + "/token"
    assert account["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert account["private_key_id"] and account["client_id"].isdigit()


async def test_token_grant_and_generate(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    status, body = await grant(fake, {"grant_type": JWT_BEARER, "assertion": assertion(account)})
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].startswith("ya29.")
    assert fake.vertex.grants == 1

    fake.channel(account["client_email"], Scenario(text="from vertex", prompt_tokens=4))
    path = vertex_path(MODEL, "generateContent", location="europe-west4")
    status, _, raw = await post(fake, path, {"contents": CONTENTS}, bearer(body["access_token"]))
    reply = orjson.loads(raw)
    assert status == 200
    assert reply["candidates"][0]["content"]["parts"] == [{"text": "from vertex"}]
    assert reply["usageMetadata"]["promptTokenCount"] == 4
    assert reply["usageMetadata"]["trafficType"] == "ON_DEMAND"
    assert reply["createTime"].endswith("Z") and reply["modelVersion"] == MODEL
    recorded = fake.last
    assert (recorded.provider, recorded.api_key) == ("vertex", account["client_email"])
    assert (recorded.project, recorded.location, recorded.publisher) == (
        "fake-project",
        "europe-west4",
        "google",
    )
    assert recorded.model == MODEL and not recorded.stream


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ("other_key", "invalid_grant", "Invalid JWT Signature."),
        ("audience", "invalid_grant", "Invalid JWT: Failed audience check."),
        ("scope", "invalid_scope", "Invalid OAuth scope or ID token audience provided."),
        ("too_long", "invalid_grant", "Token must be a short-lived token (60 minutes)"),
        ("expired", "invalid_grant", "Check your iat and exp values"),
        ("unknown_account", "invalid_grant", "account not found"),
    ],
)
async def test_bad_grants_are_refused(
    fake: FakeProviders, change: str, error: str, description: str
) -> None:
    account = fake.vertex.make_service_account()
    now = int(time.time())
    if change == "other_key":  # signed with another account's key, claiming to be this one
        other = fake.vertex.make_service_account(name="other")
        jwt_text = assertion(other, iss=account["client_email"], aud=account["token_uri"])
    elif change == "audience":
        jwt_text = assertion(account, aud="https://oauth2.googleapis.com/token")
    elif change == "scope":
        jwt_text = assertion(account, scope="https://www.googleapis.com/auth/userinfo.email")
    elif change == "too_long":
        jwt_text = assertion(account, exp=now + 7200)
    elif change == "expired":
        jwt_text = assertion(account, iat=now - 4000, exp=now - 1000)
    else:
        jwt_text = assertion(account, iss="nobody@fake-project.iam.gserviceaccount.com")
    status, body = await grant(fake, {"grant_type": JWT_BEARER, "assertion": jwt_text})
    assert status == 400
    assert body["error"] == error
    assert description in body["error_description"]
    assert fake.vertex.grants == 0


async def test_grant_form_checks(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    status, body = await grant(
        fake, {"grant_type": "client_credentials", "assertion": assertion(account)}
    )
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body = await grant(fake, {"grant_type": JWT_BEARER})
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await grant(fake, {"grant_type": JWT_BEARER, "assertion": "not.a.jwt"})
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_missing_unknown_and_expired_tokens(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    path = vertex_path(MODEL, "generateContent")
    for headers in ({}, bearer("ya29.made-up")):
        status, _, raw = await post(fake, path, {"contents": CONTENTS}, headers)
        error = orjson.loads(raw)["error"]
        assert (status, error["code"], error["status"]) == (401, 401, "UNAUTHENTICATED")
        assert error["message"].startswith("Request had invalid authentication credentials.")

    fake.vertex.token_lifetime = 1
    status, body = await grant(fake, {"grant_type": JWT_BEARER, "assertion": assertion(account)})
    assert body["expires_in"] == 1
    token = body["access_token"]
    assert (await post(fake, path, {"contents": CONTENTS}, bearer(token)))[0] == 200
    await asyncio.sleep(1.05)
    assert (await post(fake, path, {"contents": CONTENTS}, bearer(token)))[0] == 401

    fresh = await access_token(fake, account)
    assert (await post(fake, path, {"contents": CONTENTS}, bearer(fresh)))[0] == 200
    fake.vertex.expire_tokens()
    assert (await post(fake, path, {"contents": CONTENTS}, bearer(fresh)))[0] == 401
    assert fake.vertex.grants == 2


async def test_stream_and_count_tokens(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    fake.scenario = Scenario(text="abcdef", chunks=3, prompt_tokens=9)
    headers = bearer(await access_token(fake, account))
    path = vertex_path(MODEL, "streamGenerateContent") + "?alt=sse"
    status, content_type, raw = await post(fake, path, {"contents": CONTENTS}, headers)
    assert status == 200 and content_type.startswith("text/event-stream")
    events = [orjson.loads(b.removeprefix(b"data: ")) for b in raw.split(b"\r\n\r\n")[:-1]]
    texts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in events]
    assert texts == [*split_text("abcdef", 3), ""]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert fake.last.stream

    status, _, raw = await post(
        fake, vertex_path(MODEL, "countTokens"), {"contents": CONTENTS}, headers
    )
    assert status == 200 and orjson.loads(raw)["totalTokens"] == 9


async def test_raw_predict_for_claude(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    headers = bearer(await access_token(fake, account))
    fake.scenario = Scenario(text="Hi from Claude", prompt_tokens=5, completion_tokens=7)
    path = vertex_path(CLAUDE, "rawPredict", location="us-east5", publisher="anthropic")
    status, _, raw = await post(fake, path, CLAUDE_BODY, headers)
    message = orjson.loads(raw)
    assert status == 200
    assert (message["type"], message["model"]) == ("message", CLAUDE)
    assert message["content"] == [{"type": "text", "text": "Hi from Claude"}]
    assert (message["usage"]["input_tokens"], message["usage"]["output_tokens"]) == (5, 7)
    recorded = fake.last
    assert (recorded.provider, recorded.publisher, recorded.location) == (
        "vertex-anthropic",
        "anthropic",
        "us-east5",
    )

    with_model = CLAUDE_BODY | {"model": CLAUDE}
    status, _, raw = await post(fake, path, with_model, headers)
    assert status == 400
    assert orjson.loads(raw)["error"] == {
        "type": "invalid_request_error",
        "message": "model: Extra inputs are not permitted",
    }
    for version in (None, "2023-06-01"):
        body = {k: v for k, v in CLAUDE_BODY.items() if k != "anthropic_version"}
        if version:
            body["anthropic_version"] = version
        status, _, raw = await post(fake, path, body, headers)
        assert status == 400
        assert orjson.loads(raw)["error"]["message"].startswith("anthropic_version: ")

    # Google's front end answers a bad credential in its own shape, even for Claude
    status, _, raw = await post(fake, path, CLAUDE_BODY, bearer("ya29.nope"))
    assert (status, orjson.loads(raw)["error"]["status"]) == (401, "UNAUTHENTICATED")
    # the model's own errors are Anthropic's
    fake.scenario.error = FakeError(529, times=1)
    status, _, raw = await post(fake, path, CLAUDE_BODY, headers)
    assert status == 529 and orjson.loads(raw)["error"]["type"] == "overloaded_error"


async def test_stream_raw_predict(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    headers = bearer(await access_token(fake, account))
    fake.scenario = Scenario(text="abcdef", chunks=3)
    path = vertex_path(CLAUDE, "streamRawPredict", location="us-east5", publisher="anthropic")
    status, content_type, raw = await post(fake, path, CLAUDE_BODY | {"stream": True}, headers)
    assert status == 200 and content_type.startswith("text/event-stream")
    names = [block.split("\n")[0] for block in raw.decode().strip().split("\n\n")]
    assert names[0] == "event: message_start" and names[-1] == "event: message_stop"
    assert names.count("event: content_block_delta") == 3
    assert fake.last.stream


async def test_express_mode(fake: FakeProviders) -> None:
    fake.channel("express-key", Scenario(text="express"))
    path = f"/v1/publishers/google/models/{MODEL}:generateContent"
    status, _, raw = await post(fake, path + "?key=express-key", {"contents": CONTENTS}, {})
    assert status == 200
    assert orjson.loads(raw)["candidates"][0]["content"]["parts"] == [{"text": "express"}]
    recorded = fake.last
    assert (recorded.api_key, recorded.publisher, recorded.project) == (
        "express-key",
        "google",
        None,
    )

    status, _, raw = await post(fake, path, {"contents": CONTENTS}, {})
    assert (status, orjson.loads(raw)["error"]["status"]) == (403, "PERMISSION_DENIED")
    status, _, raw = await post(
        fake, path, {"contents": CONTENTS}, {"x-goog-api-key": "k-fail-429"}
    )
    assert (status, orjson.loads(raw)["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")


async def test_express_mode_with_the_sdk(fake: FakeProviders) -> None:
    options = types.HttpOptions(base_url=fake.url, retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(vertexai=True, api_key="express-key", http_options=options)
    try:
        reply = await client.aio.models.generate_content(model=MODEL, contents="hi")
        chunks = [
            chunk.text or ""
            async for chunk in await client.aio.models.generate_content_stream(
                model=MODEL, contents="hi"
            )
        ]
    finally:
        await client.aio.aclose()
    assert reply.text == Scenario.text
    assert "".join(chunks) == Scenario.text
    assert fake.last.path.endswith(f"/publishers/google/models/{MODEL}:streamGenerateContent")
    assert fake.last.api_key == "express-key"


async def test_gemini_3_signature_rule_on_vertex(fake: FakeProviders) -> None:
    account = fake.vertex.make_service_account()
    headers = bearer(await access_token(fake, account))
    call = {"functionCall": {"name": "f", "args": {}}}
    answer = {"functionResponse": {"name": "f", "response": {}}}
    contents = [*CONTENTS, {"role": "model", "parts": [call]}, {"role": "user", "parts": [answer]}]
    path = vertex_path("gemini-3-pro-preview", "generateContent", location="global")
    status, _, raw = await post(fake, path, {"contents": contents}, headers)
    assert status == 400 and "thought_signature" in orjson.loads(raw)["error"]["message"]
