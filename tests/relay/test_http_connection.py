"""Request bodies are let in only after the header-only checks (relay.http_connection).

Raw sockets send a request head announcing a large body and then only part of it (or all of
it, as fast as the server takes it): a refusal must come back before the body is sent, close
the connection, and leave the gateway's memory where it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import anthropic
import openai
import orjson
import pytest

from tests.relay.conftest import Relay, new_key
from tests.relay.test_ratelimit import HI, limit

MB = 1024 * 1024
ANNOUNCED = 100 * MB
CHUNK = b"x" * MB


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def head(path: str, key: str, length: int = ANNOUNCED, header: str = "Authorization") -> bytes:
    value = f"Bearer {key}" if header == "Authorization" else key
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{header}: {value}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
    headers = {}
    for line in rest.decode().strip().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return Answer(int(status_line.split()[1]), headers, body)


async def at_end(reader: asyncio.StreamReader) -> bool:
    """Whether the server ended the connection (its close may reach a writing client as EPIPE)."""
    try:
        return await reader.read(1) == b""
    except (BrokenPipeError, ConnectionResetError):
        return True


async def refused_early(url: str, path: str, key: str, header: str = "Authorization") -> Answer:
    """Announce 100 MB, send 64 KB of it, and read the answer (which must not wait for more)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head(path, key, header=header) + b"x" * 65536)
        await writer.drain()
        answer = await asyncio.wait_for(read_answer(reader), 10)
        writer.write_eof()  # the caller gives up on its body: the server ends the connection
        assert await asyncio.wait_for(at_end(reader), 10)
        return answer
    finally:
        writer.close()


async def push(url: str, key: str) -> tuple[Answer, int]:
    """Send a whole 100 MB body as fast as the server takes it, reading the answer meanwhile:
    (the answer, how many body bytes were sent when it came)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    sent = 0

    async def send() -> None:
        nonlocal sent
        writer.write(head("/v1/chat/completions", key))
        while sent < ANNOUNCED:
            writer.write(CHUNK)
            await writer.drain()
            sent += len(CHUNK)

    sending = asyncio.ensure_future(send())
    try:
        answer = await asyncio.wait_for(read_answer(reader), 60)
        sent_before = sent
        await asyncio.wait_for(sending, 60)  # the rest is taken (and thrown away)
        assert await asyncio.wait_for(at_end(reader), 10)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
    return answer, sent_before


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


async def settled_rss(pid: int) -> int:
    """The RSS once start-up work (the tokenizer vocabularies load in a thread) is done."""
    previous = rss_bytes(pid)
    for _ in range(40):
        await asyncio.sleep(0.5)
        current = rss_bytes(pid)
        if abs(current - previous) < MB:
            return current
        previous = current
    return previous


async def peak_rss(pid: int, work: asyncio.Future[object]) -> int:
    peak = rss_bytes(pid)
    while not work.done():
        peak = max(peak, rss_bytes(pid))
        await asyncio.sleep(0.02)
    return max(peak, rss_bytes(pid))


def openai_error(answer: Answer) -> dict[str, str]:
    error = orjson.loads(answer.body)["error"]
    assert isinstance(error, dict), answer
    return error


async def test_unauthenticated_bodies_are_never_held(relay: Relay) -> None:
    await relay.channel()
    assert relay.gateway.process is not None
    pid = relay.gateway.process.pid
    await refused_early(relay.gateway.url, "/v1/chat/completions", "sk-wrong")  # warm the path
    baseline = await settled_rss(pid)
    pushes = asyncio.gather(*(push(relay.gateway.url, "sk-wrong") for _ in range(8)))
    peak = await peak_rss(pid, pushes)
    for answer, sent_before in pushes.result():
        assert answer.status == 401, answer
        assert answer.headers["connection"] == "close"
        assert openai_error(answer)["message"] == "invalid API key"
        assert sent_before < ANNOUNCED // 2  # refused long before the body was in
    # Before: each body was buffered whole (and copied once more), over 1.5 GB for the eight.
    assert peak - baseline < 50 * MB, (baseline, peak)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/audio/transcriptions",
        "/v1/realtime/sessions",
        "/v1/realtime/client_secrets",
    ],
)
async def test_a_wrong_key_is_refused_before_the_body_arrives(relay: Relay, path: str) -> None:
    answer = await refused_early(relay.gateway.url, path, "sk-wrong")
    assert answer.status == 401
    assert answer.headers["connection"] == "close"
    assert openai_error(answer)["message"] == "invalid API key"


async def test_a_disabled_key_is_refused_before_the_body_arrives(relay: Relay) -> None:
    token_id, key = await new_key(relay.root)
    edited = await relay.root.put("/api/token/?status_only=1", {"id": token_id, "status": 2})
    assert edited.success, edited.body
    answer = await refused_early(relay.gateway.url, "/v1/chat/completions", key)
    assert answer.status == 401
    assert "disabled" in openai_error(answer)["message"]


async def test_the_rate_limit_refuses_before_the_body_arrives(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    await limit(relay, total=1, success=100)
    assert await relay.openai(key).chat.completions.create(model="gpt-4o-mini", messages=HI)
    answer = await refused_early(relay.gateway.url, "/v1/chat/completions", key)
    assert answer.status == 429
    assert openai_error(answer)["code"] == "rate_limit_exceeded"
    claude = await refused_early(relay.gateway.url, "/v1/messages", key, header="x-api-key")
    assert claude.status == 429
    assert orjson.loads(claude.body)["error"]["type"] == "rate_limit_error"


async def test_the_next_request_after_a_refused_large_body_succeeds(relay: Relay) -> None:
    await relay.channel()
    key = await relay.key()
    client = relay.openai(key)
    big = [{"role": "user", "content": "x" * (4 * MB)}]
    for _ in range(3):
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=big, extra_headers={"Authorization": "Bearer sk-no"}
            )
        # The same connection pool: the refused connection was closed, not reused.
        reply = await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        assert reply.choices[0].message.content == "Hello from the fake provider!"
    async with anthropic.AsyncAnthropic(
        base_url=relay.gateway.url, api_key=key, max_retries=0
    ) as claude:
        with pytest.raises(anthropic.AuthenticationError):
            await claude.messages.create(
                model="gpt-4o-mini", max_tokens=5, messages=big, extra_headers={"x-api-key": "no"}
            )
        reply = await claude.messages.create(model="gpt-4o-mini", max_tokens=5, messages=HI)
        assert reply.content[0].type == "text"


async def test_an_accepted_large_body_is_relayed_whole(relay: Relay) -> None:
    await relay.channel()
    client = relay.openai(await relay.key())
    content = "y" * (3 * MB)
    reply = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )
    assert reply.choices[0].message.content == "Hello from the fake provider!"
    sent = relay.fake.requests[-1].body
    assert sent["messages"][0]["content"] == content
