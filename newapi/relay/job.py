"""One relayed request from start to settlement: who, what, price and reservation."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from newapi.billing.ledger import Reservation
from newapi.billing.prices import Price
from newapi.relay.auth import Caller
from newapi.relay.upstream import Attempts


def new_request_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(8)


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

    def mark_first_byte(self) -> None:
        if self.first_byte is None:
            self.first_byte = time.monotonic()
