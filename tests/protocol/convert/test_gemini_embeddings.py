"""Embeddings between OpenAI and Gemini, both directions."""

from __future__ import annotations

import base64
import struct

from newapi.protocol.convert import (
    embed_request_to_openai,
    embeddings_request_to_gemini,
    gemini_embeddings_to_openai,
    openai_embeddings_to_gemini,
)


def test_openai_request_to_batch_embed_contents() -> None:
    body = {"model": "x", "input": ["a", [1, 2], "b"], "dimensions": 256}
    assert embeddings_request_to_gemini(body, upstream_model="gemini-embedding-001") == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "a"}]},
                "outputDimensionality": 256,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "b"}]},
                "outputDimensionality": 256,
            },
        ]
    }
    single = embeddings_request_to_gemini({"input": "hi"}, upstream_model="m")
    assert single == {"requests": [{"model": "models/m", "content": {"parts": [{"text": "hi"}]}}]}


def test_gemini_embeddings_to_openai_list() -> None:
    response = {"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3]}]}
    assert gemini_embeddings_to_openai(response, model="e", prompt_tokens=7) == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
            {"object": "embedding", "index": 1, "embedding": [0.3]},
        ],
        "model": "e",
        "usage": {"prompt_tokens": 7, "total_tokens": 7},
    }
    single = gemini_embeddings_to_openai(
        {"embedding": {"values": [1.0]}}, model="e", prompt_tokens=1
    )
    assert single["data"] == [{"object": "embedding", "index": 0, "embedding": [1.0]}]


def test_gemini_requests_to_openai() -> None:
    embed = {"content": {"parts": [{"text": "a"}, {"text": "b"}]}, "outputDimensionality": 64}
    assert embed_request_to_openai(embed, upstream_model="te3", batch=False) == {
        "model": "te3",
        "input": "a\nb",
        "dimensions": 64,
    }
    batch = {
        "requests": [
            {"model": "models/x", "content": {"parts": [{"text": "one"}]}},
            {"model": "models/x", "content": {"parts": [{"text": "two"}]}},
        ]
    }
    assert embed_request_to_openai(batch, upstream_model="te3", batch=True) == {
        "model": "te3",
        "input": ["one", "two"],
    }


def test_openai_embeddings_to_gemini_in_index_order_and_base64() -> None:
    packed = base64.b64encode(struct.pack("<2f", 0.5, -1.0)).decode()
    response = {
        "data": [
            {"object": "embedding", "index": 1, "embedding": packed},
            {"object": "embedding", "index": 0, "embedding": [0.25]},
        ]
    }
    assert openai_embeddings_to_gemini(response, batch=True) == {
        "embeddings": [{"values": [0.25]}, {"values": [0.5, -1.0]}]
    }
    assert openai_embeddings_to_gemini(response, batch=False) == {"embedding": {"values": [0.25]}}
    assert openai_embeddings_to_gemini({}, batch=False) == {"embedding": {"values": []}}
