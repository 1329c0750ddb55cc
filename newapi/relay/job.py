"""One relayed request from start to settlement: who, what, price and reservation."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from newapi.billing.ledger import Reservation
from newapi.billing.prices import Price
from newapi.protocol.tokens import count_messages
from newapi.relay.auth import Caller
from newapi.relay.upstream import Attempts


def new_request_id() -> str:
    """UTC time plus 64 random bits: unique, not secret (no system call for entropy)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"{random.getrandbits(64):016x}"


@dataclass(slots=True)
class Job:
    caller: Caller
    path: str
    model: str  # the caller's model name: billing and logs use it
    body: dict[str, Any]
    stream: bool
    include_usage: bool
    price: Price
    reservation: Reservation
    prompt_estimate: int
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.monotonic)
    first_byte: float | None = None
    attempts: Attempts = field(default_factory=Attempts)
    ip: str = ""
    # How a stream ended (``status``, ``end_reason``, ``end_error``), logged as new-api does.
    stream_status: dict[str, str] | None = None
    key_index: int = 0  # which key of a multi-key channel served
    affinity: dict[str, Any] | None = None  # admin_info.channel_affinity of the log
    _counted_prompt: int | None = None

    def counted_prompt(self) -> int:
        """The prompt counted with the tokenizer: only when upstream reported no usage."""
        if self._counted_prompt is None:
            messages = self.body.get("messages")
            if isinstance(messages, list):
                counted = count_messages(self.model, messages, self.body.get("tools"))
                self._counted_prompt = max(counted, 1)
            else:
                self._counted_prompt = self.prompt_estimate
        return self._counted_prompt

    def mark_first_byte(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.monotonic()
