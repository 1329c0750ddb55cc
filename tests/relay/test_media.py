"""Speech, transcriptions, translations and image edits through the gateway with the openai SDK.

The fake records each multipart form it receives (files as ``UploadedFile``), so the tests see
exactly what went upstream; billing is read back from the consume log.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp
import openai
import pytest

from bench.fakes.media import BYTES_PER_SECOND, UploadedFile, speech_audio
from newapi.protocol.tokens import count_text
from tests.relay.conftest import Relay, log_other
from tests.support.prices import packaged_prices

AZURE = 3
MEDIA_MODELS = "tts-1,whisper-1,gpt-4o-transcribe,dall-e-2,gpt-image-1"
RATIOS = {
    "tts-1": 7.5,
    "whisper-1": 15,
    "gpt-4o-transcribe": 1.25,
    "gpt-4o-mini-transcribe": 0.625,  # priced, but no channel serves it
    "gpt-image-1": 2.5,
}
CLIP = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"  # binary, with CRLFs in it
BOUNDARY = "newapi-test-boundary-7d9f"


async def media_relay(relay: Relay, **channel: Any) -> str:
    """Media models priced (dall-e-2 per call, the rest per token) and a channel; a key."""
    await relay.option("ModelRatio", json.dumps(RATIOS))
    await relay.option("ModelPrice", json.dumps({"dall-e-2": 0.02}))
    await relay.channel(**{"models": MEDIA_MODELS, **channel})
    return await relay.key()


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> bytes:
    """A multipart/form-data body under :data:`BOUNDARY`, built by hand."""
    out = b""
    for name, value in fields:
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, filename, data in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: audio/mpeg\r\n\r\n'
        )
        out += head.encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def post_form(relay: Relay, key: str, path: str, body: bytes) -> tuple[int, bytes]:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(relay.gateway.url + path, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.read()


# ---- speech ------------------------------------------------------------------------------------


async def test_speech_returns_the_audio_and_bills_input_characters(relay: Relay) -> None:
    key = await media_relay(relay)
    text = "Hello world, this is newapi speaking."
    audio = await relay.openai(key).audio.speech.create(model="tts-1", voice="nova", input=text)
    assert audio.content == speech_audio(text, "nova", "mp3")
    assert audio.response.headers["content-type"] == "audio/mpeg"
    assert audio.response.headers["x-oneapi-request-id"]
    sent = relay.fake.last
    assert sent.path == "/v1/audio/speech" and sent.body["input"] == text
    assert sent.headers["Content-Type"] == "application/json"
    (log,) = await relay.logs(1)
    # tts-1 bills the input's characters as prompt tokens: 37 x 7.5 = 277.5 -> 278
    assert (log["prompt_tokens"], log["completion_tokens"]) == (len(text), 0)
    assert log["quota"] == math.floor(len(text) * 7.5 + 0.5) == 278
    assert log["model_name"] == "tts-1"


async def test_speech_in_another_format_and_its_errors(relay: Relay) -> None:
    key = await media_relay(relay)
    client = relay.openai(key)
    audio = await client.audio.speech.create(
        model="tts-1", voice="alloy", input="flac please", response_format="flac"
    )
    assert audio.content == speech_audio("flac please", "alloy", "flac")
    assert audio.response.headers["content-type"] == "audio/flac"
    with pytest.raises(openai.BadRequestError) as no_input:
        await client.audio.speech.create(model="tts-1", voice="alloy", input="")
    assert "input is required" in no_input.value.message
    assert len(relay.fake.requests) == 1  # the refused request never went upstream


# ---- transcriptions and translations -----------------------------------------------------------


async def test_transcription_forwards_the_form_and_bills_reported_tokens(relay: Relay) -> None:
    key = await media_relay(relay)
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 300, 40
    result = await relay.openai(key).audio.transcriptions.create(
        model="gpt-4o-transcribe",
        file=("clip.mp3", CLIP, "audio/mpeg"),
        prompt="Names: Ada Lovelace",
        language="en",
    )
    assert result.text == relay.fake.scenario.text
    sent = relay.fake.last
    assert sent.path == "/v1/audio/transcriptions"
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert sent.body["file"] == UploadedFile("clip.mp3", "audio/mpeg", CLIP)
    form = {name: value for name, value in sent.body.items() if name != "file"}
    assert form == {"model": "gpt-4o-transcribe", "prompt": "Names: Ada Lovelace", "language": "en"}
    (log,) = await relay.logs(1)
    # gpt-4o-transcribe: ratio 1.25, completion ratio 4, default audio ratio 2.4; the fake
    # reports the prompt's 3 words as text tokens, the other 297 as audio:
    # (3 + 40 * 4 + 297 * 2.4) * 1.25 = 1094.75
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (300, 40, 1095)
    assert log_other(log)["request_path"] == "/v1/audio/transcriptions"
    assert "local_count_tokens" not in log_other(log)["admin_info"]


async def test_the_body_goes_upstream_byte_for_byte(relay: Relay) -> None:
    key = await media_relay(relay)
    body = multipart([("model", "whisper-1"), ("temperature", "0.2")], [("file", "a.mp3", CLIP)])
    status, _ = await post_form(relay, key, "/v1/audio/transcriptions", body)
    assert status == 200
    sent = relay.fake.last
    assert sent.raw == body
    assert sent.headers["Content-Type"] == f"multipart/form-data; boundary={BOUNDARY}"


async def test_a_mapped_model_is_the_only_change_to_the_form(relay: Relay) -> None:
    key = await media_relay(relay, model_mapping=json.dumps({"whisper-1": "whisper-large-v3"}))
    fields = [("model", "whisper-1"), ("language", "de")]
    status, _ = await post_form(
        relay, key, "/v1/audio/transcriptions", multipart(fields, [("file", "a.mp3", CLIP)])
    )
    assert status == 200
    mapped = [("model", "whisper-large-v3"), ("language", "de")]
    assert relay.fake.last.raw == multipart(mapped, [("file", "a.mp3", CLIP)])
    (log,) = await relay.logs(1)
    assert log["model_name"] == "whisper-1"
    assert log_other(log)["upstream_model_name"] == "whisper-large-v3"


async def test_a_form_without_model_defaults_to_whisper(relay: Relay) -> None:
    key = await media_relay(relay)
    body = multipart([("language", "fr")], [("file", "a.mp3", CLIP)])
    status, _ = await post_form(relay, key, "/v1/audio/transcriptions", body)
    assert status == 200
    assert relay.fake.last.body["model"] == "whisper-1"  # written into the form for upstream
    assert relay.fake.last.body["file"].data == CLIP
    (log,) = await relay.logs(1)
    assert log["model_name"] == "whisper-1"


async def test_whisper_duration_is_billed_as_new_api_counts_it(relay: Relay) -> None:
    key = await media_relay(relay)
    clip = b"\x00" * (BYTES_PER_SECOND * 2 + 1)  # the fake reports 3 seconds
    result = await relay.openai(key).audio.transcriptions.create(
        model="whisper-1", file=("long.wav", clip, "audio/wav")
    )
    assert result.text == relay.fake.scenario.text
    (log,) = await relay.logs(1)
    completion = count_text("whisper-1", relay.fake.scenario.text)
    # 3 s -> 3 x 1000 / 60 = 50 prompt tokens; whisper-1 ratio 15, completion ratio 1
    assert (log["prompt_tokens"], log["completion_tokens"]) == (50, completion)
    assert log["quota"] == (50 + completion) * 15
    assert log_other(log)["admin_info"]["local_count_tokens"] is True


async def test_text_answer_is_billed_from_the_transcript(relay: Relay) -> None:
    key = await media_relay(relay)
    relay.fake.scenario.text = "a plain text transcript of several words"
    result = await relay.openai(key).audio.transcriptions.create(
        model="whisper-1", file=("a.mp3", CLIP), response_format="text"
    )
    assert result.strip() == relay.fake.scenario.text
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == count_text("whisper-1", relay.fake.scenario.text + "\n")
    assert log["quota"] == (log["prompt_tokens"] + log["completion_tokens"]) * 15


# The SDK marks translations deprecated; the endpoint is still served.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_translation_is_routed_and_billed(relay: Relay) -> None:
    key = await media_relay(relay)
    relay.fake.scenario.text = "Good morning, everybody."
    result = await relay.openai(key).audio.translations.create(
        model="whisper-1", file=("speech.mp3", CLIP, "audio/mpeg")
    )
    assert result.text == "Good morning, everybody."
    sent = relay.fake.last
    assert sent.path == "/v1/audio/translations" and sent.body["file"].data == CLIP
    (log,) = await relay.logs(1)
    assert log["completion_tokens"] == count_text("whisper-1", "Good morning, everybody.")
    assert log["quota"] > 0 and log_other(log)["request_path"] == "/v1/audio/translations"


async def test_streamed_transcription_passes_events_and_bills_reported_usage(
    relay: Relay,
) -> None:
    key = await media_relay(relay)
    scenario = relay.fake.scenario
    scenario.text, scenario.chunks = "streamed words arrive one by one", 4
    scenario.prompt_tokens, scenario.completion_tokens = 120, 9
    stream = await relay.openai(key).audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.mp3", CLIP), stream=True
    )
    events = [event async for event in stream]
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert "".join(deltas) == scenario.text and len(deltas) == 4
    assert events[-1].type == "transcript.text.done"
    assert relay.fake.last.body["stream"] == "true"
    (log,) = await relay.logs(1)
    assert log["is_stream"] is True
    assert (log["prompt_tokens"], log["completion_tokens"]) == (120, 9)
    assert log["quota"] == round((9 * 4 + 120 * 2.4) * 1.25)  # all 120 input tokens are audio


async def test_azure_transcription_keeps_the_form(relay: Relay) -> None:
    await relay.option("ModelRatio", json.dumps(RATIOS))
    await relay.channel(
        type=AZURE, key="azure-key-0123456789", models="whisper-1", other="2024-10-21"
    )
    key = await relay.key()
    result = await relay.openai(key).audio.transcriptions.create(
        model="whisper-1", file=("a.mp3", CLIP)
    )
    assert result.text == relay.fake.scenario.text
    sent = relay.fake.last
    assert sent.provider == "azure"
    assert sent.path == "/openai/deployments/whisper-1/audio/transcriptions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "azure-key-0123456789"
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert sent.body["file"].data == CLIP


async def test_form_errors_are_the_callers(relay: Relay) -> None:
    key = await media_relay(relay)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            relay.gateway.url + "/v1/audio/transcriptions",
            json={"model": "whisper-1"},
            headers={"Authorization": f"Bearer {key}"},
        ) as resp,
    ):
        body = await resp.json()
    assert resp.status == 400 and body["error"]["type"] == "invalid_request_error"
    assert "multipart/form-data" in body["error"]["message"]
    status, raw = await post_form(relay, key, "/v1/audio/transcriptions", b"--nope")
    assert status == 400 and b"malformed" in raw
    # A JSON image edit is relayed as JSON (gpt-image-1 takes image URLs): model required.
    with pytest.raises(openai.BadRequestError) as json_edit:
        await relay.openai(key).post(
            "/images/edits", body={"prompt": "x"}, cast_to=openai.types.ImagesResponse
        )
    assert "model is required" in json_edit.value.message
    with pytest.raises(openai.AuthenticationError):
        await relay.openai("sk-" + "z" * 48).audio.transcriptions.create(
            model="whisper-1", file=("a.mp3", CLIP)
        )
    with pytest.raises(openai.APIStatusError) as no_channel:
        await relay.openai(key).audio.transcriptions.create(
            model="gpt-4o-mini-transcribe", file=("a.mp3", CLIP)
        )
    assert no_channel.value.status_code == 503
    assert not relay.fake.requests
    assert "Traceback" not in relay.gateway.log_text()


# ---- image edits -------------------------------------------------------------------------------


async def test_image_edit_defaults_to_dall_e_2_and_costs_its_price(relay: Relay) -> None:
    key = await media_relay(relay)
    png = b"\x89PNG\r\n\x1a\n" + b"\x07" * 64
    result = await relay.openai(key).images.edit(
        image=("cat.png", png, "image/png"), prompt="add a hat", n=2
    )
    assert len(result.data) == 2 and all(item.url for item in result.data)
    sent = relay.fake.last
    assert sent.path == "/v1/images/edits" and sent.body["model"] == "dall-e-2"
    assert sent.body["image"] == UploadedFile("cat.png", "image/png", png)
    assert (sent.body["prompt"], sent.body["n"]) == ("add a hat", "2")
    (log,) = await relay.logs(1)
    # dall-e-2 is priced per call: 0.02 USD x 500 000 = 10 000
    assert log["model_name"] == "dall-e-2" and log["quota"] == 10_000
    assert log_other(log)["model_price"] == 0.02


async def test_gpt_image_edit_with_several_images_bills_reported_tokens(relay: Relay) -> None:
    key = await media_relay(relay)
    relay.fake.scenario.prompt_tokens, relay.fake.scenario.completion_tokens = 500, 1000
    result = await relay.openai(key).images.edit(
        model="gpt-image-1",
        image=[("a.png", b"first image"), ("b.png", b"second image")],
        prompt="combine them",
    )
    assert result.data[0].b64_json and result.usage is not None
    images = relay.fake.last.body["image[]"]
    assert [image.data for image in images] == [b"first image", b"second image"]
    (log,) = await relay.logs(1)
    # gpt-image-1 here: ratio 2.5 (the option); the completion ratio is the price table's
    # (OpenAI: $40 output / $5 input = 8; new-api's unlocked gpt-* rule said 2 and under-billed)
    table = packaged_prices().lookup("gpt-image-1")
    assert table is not None and table.completion_ratio is not None
    quota = round((500 + 1000 * table.completion_ratio) * 2.5)
    assert (log["prompt_tokens"], log["completion_tokens"], log["quota"]) == (500, 1000, quota)


async def test_gpt_image_only_fields_default_the_model_to_gpt_image_1(relay: Relay) -> None:
    key = await media_relay(relay)
    body = multipart(
        [("prompt", "make it transparent"), ("background", "transparent")],
        [("image", "a.png", b"png bytes")],
    )
    status, raw = await post_form(relay, key, "/v1/images/edits", body)
    assert status == 200 and json.loads(raw)["data"][0]["b64_json"]
    assert relay.fake.last.body["model"] == "gpt-image-1"
    (log,) = await relay.logs(1)
    assert log["model_name"] == "gpt-image-1"
