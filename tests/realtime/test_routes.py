"""The realtime handshake refuses in the relay's order: an unserved model before its price."""

from __future__ import annotations

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import Realtime


async def refusal(rt: Realtime, key: str, model: str) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as refused:
        await rt.connect(key, model)
    response = refused.value.response
    return response.status_code, orjson.loads(response.body)["error"]


async def test_an_unserved_unpriced_model_is_a_503_before_the_upgrade(rt: Realtime) -> None:
    key = await rt.key()
    status, error = await refusal(rt, key, "realtime-nobody-serves")
    assert (status, error["code"]) == (503, "model_not_found"), error
    assert "realtime-nobody-serves" in error["message"]


async def test_a_served_unpriced_model_is_a_400_naming_it(rt: Realtime) -> None:
    await rt.channel(key="sk-rt-unpriced", models="realtime-unpriced")
    key = await rt.key()
    status, error = await refusal(rt, key, "realtime-unpriced")
    assert (status, error["code"]) == (400, "model_price_error"), error
    assert "model realtime-unpriced has no ratio or price" in error["message"]
    assert [s for s in rt.fake.realtime.handshakes if s.api_key == "sk-rt-unpriced"] == []
