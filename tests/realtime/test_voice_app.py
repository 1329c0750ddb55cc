"""The "done when" of issue 4: a voice app on the openai SDK talks for several turns through
newapi to an Azure channel (GA path), and every turn is billed and logged."""

from __future__ import annotations

import base64

import orjson
from openai import AsyncOpenAI

from bench.fakes import RealtimeScript, Scenario
from tests.realtime.conftest import Realtime
from tests.relay.conftest import all_logs, log_other

AZURE = 3
MODEL = "gpt-realtime-voice"
AZURE_KEY = "azure-voice-key-0123456789"


async def test_voice_app_three_turns_over_azure_each_billed(rt: Realtime) -> None:
    await rt.price(MODEL, 2)
    await rt.option("GroupRatio", orjson.dumps({"default": 1, "vip": 1}).decode())
    await rt.option("AudioRatio", orjson.dumps({MODEL: 8}).decode())
    await rt.option("AudioCompletionRatio", orjson.dumps({MODEL: 2}).decode())
    await rt.channel(type=AZURE, key=AZURE_KEY, models=MODEL, other="v1", name="voice")
    rt.fake.channel(
        AZURE_KEY, Scenario(text="spoken words", prompt_tokens=300, completion_tokens=200)
    )
    rt.fake.realtime.script(
        AZURE_KEY, RealtimeScript(audio_chunks=4, audio_input_tokens=250, audio_output_tokens=150)
    )
    key = await rt.key(name="voice app")
    client = AsyncOpenAI(base_url=rt.gateway.url + "/v1", api_key=key, max_retries=0)
    speech = base64.b64encode(bytes(9600)).decode()  # 200 ms of pcm16 silence
    async with client.realtime.connect(model=MODEL) as conn:
        assert (await conn.recv()).type == "session.created"
        for _ in range(3):
            await conn.input_audio_buffer.append(audio=speech)
            await conn.input_audio_buffer.append(audio=speech)
            await conn.input_audio_buffer.commit()
            await conn.response.create(response={"output_modalities": ["audio"]})
            audio, transcript = 0, []
            async for event in conn:
                if event.type == "response.output_audio.delta":
                    audio += len(base64.b64decode(event.delta))
                elif event.type == "response.output_audio_transcript.delta":
                    transcript.append(event.delta)
                elif event.type == "response.done":
                    assert event.response.usage is not None
                    break
            assert audio == 4 * 4800 and "".join(transcript) == "spoken words"
    (session,) = [s for s in rt.fake.realtime.sessions if s.api_key == AZURE_KEY]
    assert session.path == "/openai/v1/realtime" and session.query == {"model": MODEL}
    appended = [e for e in session.client_events if e["type"] == "input_audio_buffer.append"]
    assert len(appended) == 6 and appended[0]["audio"] == speech  # forwarded untouched
    logs = await all_logs(rt, 3, token_name="voice app")
    # text in 50 + audio in 250 x 8 + text out 50 x 2 (gpt-*) + audio out 150 x 8 x 2
    # = 50 + 2000 + 100 + 2400 = 4550; x model 2 x group 1
    assert [log["quota"] for log in logs] == [9100] * 3
    assert all(log_other(log)["audio_output"] == 150 for log in logs)
    assert len({log["request_id"] for log in logs}) == 1
