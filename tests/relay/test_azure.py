"""Azure OpenAI channels end to end: deployment URLs, api-version, the api-key header."""

from __future__ import annotations

from tests.relay.conftest import Relay, StartRelay

AZURE = 3
AZURE_KEY = "azure-key-0123456789abcdef"
HELLO = [{"role": "user", "content": "hi"}]


def assert_azure_call(relay: Relay, path: str, version: str) -> None:
    sent = relay.fake.last
    assert sent.path == path and sent.query == {"api-version": version}
    assert sent.headers["api-key"] == AZURE_KEY and "Authorization" not in sent.headers


async def azure_channel(relay: Relay, models: str, other: str) -> int:
    return await relay.channel(type=AZURE, key=AZURE_KEY, models=models, other=other)


async def test_chat_plain_streamed_and_embeddings_go_to_the_deployment(relay: Relay) -> None:
    await azure_channel(relay, "gpt-3.5-turbo,text-embedding-3-small", "2024-10-21")
    key = await relay.key()
    client = relay.openai(key)
    relay.fake.scenario.text = "Hello from Azure"
    reply = await client.chat.completions.create(model="gpt-3.5-turbo", messages=HELLO)
    assert reply.choices[0].message.content == "Hello from Azure"
    assert_azure_call(relay, "/openai/deployments/gpt-35-turbo/chat/completions", "2024-10-21")
    assert relay.fake.last.provider == "azure" and not relay.fake.last.stream
    relay.fake.scenario.text, relay.fake.scenario.chunks = "streamed from Azure", 4
    stream = await client.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(texts) == "streamed from Azure" and len(texts) == 4
    # Azure's prompt-filter chunk (no choices) is passed on untouched, before the content.
    assert chunks[0].choices == [] and chunks[0].usage is None
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == relay.fake.scenario.completion_tokens
    assert_azure_call(relay, "/openai/deployments/gpt-35-turbo/chat/completions", "2024-10-21")
    assert relay.fake.last.stream
    embedded = await client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [item.index for item in embedded.data] == [0, 1]
    assert len(embedded.data[0].embedding) == relay.fake.scenario.embedding_dimensions
    assert_azure_call(relay, "/openai/deployments/text-embedding-3-small/embeddings", "2024-10-21")
    logs = await relay.logs(3)
    assert sorted((log["model_name"], log["is_stream"]) for log in logs) == [
        ("gpt-3.5-turbo", False),
        ("gpt-3.5-turbo", True),
        ("text-embedding-3-small", False),
    ]
    for log in logs:
        assert log["quota"] > 0 and log["prompt_tokens"] == relay.fake.scenario.prompt_tokens


async def test_default_version_and_the_v1_api(relay: Relay) -> None:
    await azure_channel(relay, "gpt-4o", "")
    await azure_channel(relay, "gpt-4.1-mini", "v1")
    key = await relay.key()
    client = relay.openai(key)
    await client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert_azure_call(relay, "/openai/deployments/gpt-4o/chat/completions", "2025-04-01-preview")
    reply = await client.chat.completions.create(model="gpt-4.1-mini", messages=HELLO)
    assert reply.choices[0].message.content == relay.fake.scenario.text
    sent = relay.fake.last
    assert sent.path == "/openai/v1/chat/completions" and sent.query == {}
    assert sent.model == "gpt-4.1-mini"
    assert sent.headers["api-key"] == AZURE_KEY and "Authorization" not in sent.headers


async def test_default_version_follows_the_env(start_relay: StartRelay) -> None:
    relay = await start_relay(AZURE_DEFAULT_API_VERSION="2024-06-01")
    await azure_channel(relay, "gpt-4o", "")
    key = await relay.key()
    await relay.openai(key).chat.completions.create(model="gpt-4o", messages=HELLO)
    assert relay.fake.last.query == {"api-version": "2024-06-01"}
