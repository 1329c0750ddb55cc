"""The Gemini and Vertex AI adaptors: URLs, headers, regions, key types (pure)."""

from __future__ import annotations

import orjson

from newapi.adaptors.base import Call, key_choices
from newapi.adaptors.gemini import Gemini
from newapi.adaptors.registry import adaptor_for
from newapi.adaptors.vertex import (
    VERTEX_CLAUDE,
    VERTEX_GEMINI,
    parse_service_account,
    region_for,
    vertex_claude_model,
)
from newapi.routing.index import ChannelSnapshot

ACCOUNT = {
    "type": "service_account",
    "project_id": "proj-1",
    "private_key_id": "k1",
    "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
    "client_email": "relay@proj-1.iam.gserviceaccount.com",
    "token_uri": "http://127.0.0.1:9/token",
}


def channel(type: int, **fields: object) -> ChannelSnapshot:
    return ChannelSnapshot(
        id=1, type=type, name="g", status=1, groups=("default",), models=(), **fields
    )


def test_gemini_urls_methods_and_key_header() -> None:
    gemini = Gemini()
    plain = gemini.request(
        channel(24, key="AIza-key"), Call("chat/completions", "gemini-2.5-flash", False)
    )
    assert plain.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert plain.headers["x-goog-api-key"] == "AIza-key" and "key=" not in plain.url
    stream = gemini.request(
        channel(24, key="k", base_url="http://fake/", other="v1"),
        Call("chat/completions", "gemini-2.5-flash-thinking-512", True),
    )
    assert stream.url == "http://fake/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    embed = gemini.request(channel(24, key="k"), Call("embeddings", "gemini-embedding-001", False))
    assert embed.url.endswith("/v1beta/models/gemini-embedding-001:batchEmbedContents")
    native = gemini.request(
        channel(24, key="k"),
        Call("embeddings", "gemini-embedding-001", False, gemini_action="embedContent"),
    )
    assert native.url.endswith(":embedContent")
    listed = gemini.models_request(channel(24, key="k", base_url="http://fake/v1beta"))
    assert listed.url == "http://fake/v1beta/models?pageSize=1000"


def test_region_from_other_field() -> None:
    assert region_for("", "gemini-2.5-pro") == "global"
    assert region_for("us-central1", "gemini-2.5-pro") == "us-central1"
    regions = orjson.dumps({"default": "europe-west4", "claude-sonnet-4-5": "us-east5"}).decode()
    assert region_for(regions, "claude-sonnet-4-5") == "us-east5"
    assert region_for(regions, "gemini-2.5-pro") == "europe-west4"
    assert region_for('{"gemini-2.5-pro": "asia-east1"}', "other") == "global"
    assert region_for("{not json", "m") == "{not json"  # the admin's typo reaches Google as is


def test_vertex_publisher_by_model_and_claude_names() -> None:
    assert adaptor_for(41, "gemini-2.5-pro") is VERTEX_GEMINI
    assert adaptor_for(41, "claude-sonnet-4-5-20250929") is VERTEX_CLAUDE
    assert vertex_claude_model("claude-sonnet-4-5-20250929") == "claude-sonnet-4-5@20250929"
    assert vertex_claude_model("claude-opus-4-1@20250805") == "claude-opus-4-1@20250805"
    assert VERTEX_CLAUDE.body_fields == {"model": None, "anthropic_version": "vertex-2023-10-16"}


def test_vertex_service_account_urls() -> None:
    key = orjson.dumps(ACCOUNT, option=orjson.OPT_INDENT_2).decode()
    vertex = channel(41, key=key, other='{"default": "us-central1", "gemini-2.5-pro": "global"}')
    # A pretty-printed JSON key is one key, not one per line.
    assert key_choices(vertex) == [(0, key.strip())]
    assert VERTEX_GEMINI.service_account(vertex, key).project_id == "proj-1"
    call = Call("chat/completions", "gemini-2.5-flash", True, access_token="ya29.token", key=key)
    target = VERTEX_GEMINI.request(vertex, call)
    assert target.url == (
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1"
        "/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert target.headers["Authorization"] == "Bearer ya29.token"
    assert target.headers["x-goog-user-project"] == "proj-1"
    pro = VERTEX_GEMINI.request(vertex, Call("chat/completions", "gemini-2.5-pro", False, key=key))
    assert pro.url.startswith(
        "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global/"
    )
    claude = VERTEX_CLAUDE.request(
        channel(41, key=key, base_url="http://fake", other="us-east5"),
        Call("chat/completions", "claude-sonnet-4-5-20250929", False, key=key),
    )
    assert claude.url == (
        "http://fake/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:rawPredict"
    )


def test_vertex_api_key_mode() -> None:
    vertex = channel(41, key="AQ.express", settings={"vertex_key_type": "api_key"})
    assert VERTEX_GEMINI.service_account(vertex, "AQ.express") is None
    target = VERTEX_GEMINI.request(vertex, Call("chat/completions", "gemini-2.5-flash", False))
    assert target.url == (
        "https://aiplatform.googleapis.com/v1/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    assert (
        target.headers["x-goog-api-key"] == "AQ.express" and "Authorization" not in target.headers
    )


def test_service_account_parsing_refuses_incomplete_keys() -> None:
    assert parse_service_account("not json") is None
    assert parse_service_account('{"client_email": "a"}') is None
    account = parse_service_account(orjson.dumps({**ACCOUNT, "token_uri": ""}).decode())
    assert account is not None and account.token_uri == "https://oauth2.googleapis.com/token"
    assert "private_key" not in repr(account) and "abc" not in repr(account)
