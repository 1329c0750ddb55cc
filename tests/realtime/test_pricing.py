"""The quota of a realtime response (pure) and a meter that survives billing failures."""

from __future__ import annotations

from newapi.billing.ledger import Reservation
from newapi.billing.prices import Price
from newapi.billing.writer import UsageWriter
from newapi.errors import InsufficientQuota, ServiceUnavailable
from newapi.options import Options
from newapi.realtime.events import RealtimeUsage, Turn
from newapi.realtime.metering import Session, SessionMeter
from newapi.realtime.pricing import log_other, response_quota
from newapi.relay.auth import Caller

USAGE = RealtimeUsage(
    text_in=400, audio_in=600, cached_text=200, cached_audio=100, text_out=100, audio_out=400
)
PRICE = Price(
    model_ratio=2.5,
    completion_ratio=4,
    cache_ratio=0.5,
    group_ratio=1.5,
    audio_ratio=8,
    audio_completion_ratio=2,
)


def test_hand_computed_quota_discounts_cached_input() -> None:
    # 200 + 200x0.5 + (500 + 100x0.5)x8 + 100x4 + 400x8x2 = 11500; x2.5 x1.5 = 43125
    assert response_quota(USAGE, PRICE, 500_000) == 43125


def test_without_an_audio_ratio_audio_costs_what_text_costs() -> None:
    price = Price(model_ratio=1, completion_ratio=2, cache_ratio=0.1)
    # text in 200 + 200x0.1, audio in 500 + 100x0.1, out (100 + 400) x 2
    assert response_quota(USAGE, price, 500_000) == (200 + 20 + 500 + 10 + 1000)


def test_price_mode_minimum_and_empty() -> None:
    per_call = Price(model_price=0.01, group_ratio=2)
    assert response_quota(USAGE, per_call, 500_000) == 10_000
    assert response_quota(RealtimeUsage(), PRICE, 500_000) == 0
    tiny = Price(model_ratio=0.001)
    assert response_quota(RealtimeUsage(text_in=1), tiny, 500_000) == 1
    assert response_quota(RealtimeUsage(text_in=1), Price(model_ratio=0), 500_000) == 0


def test_log_other_names_every_count() -> None:
    other = log_other(PRICE, USAGE)
    assert other["realtime"] is True and other["cache_tokens"] == 300
    assert (other["text_input"], other["audio_input"]) == (400, 600)
    assert (other["cached_text_input"], other["cached_audio_input"]) == (200, 100)
    assert (other["audio_ratio"], other["audio_completion_ratio"]) == (8, 2)


class BrokenLedger:
    """A ledger whose cache is down after the float was taken."""

    def __init__(self, fail_with: Exception) -> None:
        self.fail_with = fail_with
        self.reserved: list[int] = []
        self.settled: list[tuple[int, int]] = []

    async def reserve(self, *, amount: int, **_: object) -> Reservation:
        if self.reserved:
            raise self.fail_with
        self.reserved.append(amount)
        return Reservation(("u",), amount)

    async def settle(self, reservation: Reservation, final: int) -> None:
        if isinstance(self.fail_with, ServiceUnavailable):
            raise self.fail_with
        self.settled.append((reservation.amount, final))


def meter(ledger: BrokenLedger, writer: UsageWriter) -> SessionMeter:
    caller = Caller("key", {"id": 7, "name": "t", "unlimited_quota": False}, {"id": 3}, "default")
    options = Options({})
    session = Session(caller, "gpt-realtime", PRICE, "req-1")
    return SessionMeter(ledger, writer, lambda: options, session)  # type: ignore[arg-type]


async def test_a_failed_charge_is_logged_and_the_session_goes_on() -> None:
    writer = UsageWriter()
    ledger = BrokenLedger(ServiceUnavailable("cache down"))
    m = meter(ledger, writer)
    await m.open()
    assert ledger.reserved == [1875]  # PreConsumedQuota 500 x 2.5 x 1.5
    charge = await m.bill(Turn("r1", USAGE))
    assert charge.quota == 43125 and not charge.exhausted
    await m.close()  # the refund fails too: logged, not raised
    assert writer.pending_users[3] == 43125 and writer.pending_tokens[7] == 43125


async def test_exhausted_quota_charges_the_delivered_response_against_the_float() -> None:
    writer = UsageWriter()
    ledger = BrokenLedger(InsufficientQuota("no"))
    m = meter(ledger, writer)
    await m.open()
    charge = await m.bill(Turn("r1", USAGE))
    assert charge.exhausted and ledger.settled == [(1875, 43125)]
    await m.close()
    assert ledger.settled == [(1875, 43125)]  # the float is spent: nothing refunded twice
    assert writer.pending_users[3] == 43125
