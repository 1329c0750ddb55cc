"""Billing a realtime session as it runs: one charge and one consume log per response.

At connect, the session *reserves* a float - ``PreConsumedQuota`` tokens at the model's and
group's ratios (the per-call price in price mode) - so a caller without quota is refused
before the upgrade. Each ``response.done`` is then charged on its own through the ledger (an
atomic reservation of exactly its quota). When that charge no longer fits the balance, the
response - already delivered - is charged against the float and the session is told to end
(:meth:`SessionMeter.bill` returns False). At the end, what is left of the float is refunded.

Logs: one consume log per response (not per session), written through the batched
:class:`~newapi.billing.writer.UsageWriter` like every relay request: each turn shows up in
``/api/log/`` with its own token counts and quota as soon as it is billed, a session that
dies mid-way loses nothing, and the logs of one session share its ``request_id``.

A billing failure (the cache unreachable) is logged and never ends the session: the usage
still goes to the writer, whose database flush keeps a failed batch for the next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from newapi.billing.ledger import QuotaLedger, Reservation
from newapi.billing.prices import Price
from newapi.billing.quota import describe, reserve_for
from newapi.billing.writer import Consumption, UsageWriter
from newapi.errors import InsufficientQuota, ServiceUnavailable
from newapi.models.log import LOG_CONSUME
from newapi.options import Options
from newapi.realtime.events import Turn
from newapi.realtime.pricing import log_other, response_quota
from newapi.relay.auth import Caller

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Session:
    """Who is talking to which model; the same for every response of the session."""

    caller: Caller
    model: str
    price: Price
    request_id: str
    path: str = "/v1/realtime"
    ip: str = ""


@dataclass(slots=True)
class Charge:
    """What one response cost, for tests and the log."""

    quota: int
    exhausted: bool


@dataclass(slots=True)
class SessionMeter:
    ledger: QuotaLedger
    writer: UsageWriter
    options: Callable[[], Options]  # the current options snapshot
    session: Session
    channel_id: int = 0
    upstream_model: str = ""
    tried: list[int] = field(default_factory=list)
    total_quota: int = 0
    responses: int = 0
    _float: Reservation | None = None
    _turn_started: float = field(default_factory=time.monotonic)

    async def open(self) -> None:
        """Reserve the float, or raise :class:`InsufficientQuota` (before the upgrade)."""
        options = self.options()
        amount = reserve_for(
            options.int("PreConsumedQuota"), 0, self.session.price, options.float("QuotaPerUnit"), 0
        )
        self._float = await self._reserve(amount)

    async def bill(self, turn: Turn) -> Charge:
        """Charge one finished response; ``exhausted`` means the caller's quota ran out."""
        options = self.options()
        quota = response_quota(turn.usage, self.session.price, options.float("QuotaPerUnit"))
        exhausted = False
        try:
            exhausted = await self._charge(quota)
        except ServiceUnavailable:
            log.error("realtime charge of %d not reserved: cache unavailable", quota)
        self.total_quota += quota
        self.responses += 1
        row = self._log_row(turn, quota, options) if options.bool("LogConsumeEnabled") else None
        caller = self.session.caller
        await self.writer.add(
            Consumption(
                user_id=caller.user_id,
                username=str(caller.user.get("username", "")),
                token_id=caller.token_id,
                channel_id=self.channel_id,
                model_name=self.session.model,
                quota=quota,
                tokens=turn.usage.input_tokens + turn.usage.output_tokens,
                log=row,
                export=options.bool("DataExportEnabled"),
            )
        )
        self._turn_started = time.monotonic()
        return Charge(quota, exhausted)

    async def close(self) -> None:
        """Give back what is left of the float."""
        reservation, self._float = self._float, None
        if reservation is not None:
            try:
                await self.ledger.settle(reservation, 0)
            except ServiceUnavailable:
                log.error(
                    "realtime float of %d not refunded: cache unavailable", reservation.amount
                )

    async def _charge(self, quota: int) -> bool:
        if quota <= 0:
            return False
        try:
            charged = await self._reserve(quota)
        except InsufficientQuota:
            pass
        else:
            await self.ledger.settle(charged, quota)  # final: no hold is left behind (Redis)
            return False
        # Delivered already: charge it against the float (the balance may dip below zero by
        # at most one response), then the session ends.
        reservation, self._float = self._float, None
        if reservation is not None:
            await self.ledger.settle(reservation, quota)
        return True

    async def _reserve(self, amount: int) -> Reservation:
        caller = self.session.caller
        return await self.ledger.reserve(
            user_id=caller.user_id,
            token_id=caller.token_id,
            token_key=caller.key,
            limited=not caller.token.get("unlimited_quota"),
            amount=amount,
        )

    def _log_row(self, turn: Turn, quota: int, options: Options) -> dict[str, Any]:
        session, caller = self.session, self.session.caller
        usage = turn.usage
        other = log_other(session.price, usage)
        other["request_path"] = session.path
        other["realtime_response_id"] = turn.response_id
        other["admin_info"] = {"use_channel": list(self.tried)}
        if usage.estimated:
            other["admin_info"]["local_count_tokens"] = True
        if self.upstream_model and self.upstream_model != session.model:
            other["is_model_mapped"] = True
            other["upstream_model_name"] = self.upstream_model
        return {
            "user_id": caller.user_id,
            "username": str(caller.user.get("username", "")),
            "created_at": int(time.time()),
            "type": LOG_CONSUME,
            "content": describe(session.price),
            "token_name": str(caller.token.get("name", "")),
            "model_name": session.model,
            "quota": quota,
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "use_time": int(time.monotonic() - self._turn_started),
            "is_stream": True,
            "channel_id": self.channel_id,
            "token_id": caller.token_id,
            "group": caller.group,
            "ip": session.ip,
            "request_id": session.request_id,
            "other": orjson.dumps(other).decode(),
        }
