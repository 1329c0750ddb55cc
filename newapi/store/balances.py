"""Loading quota balances for the ledger: the database value minus this process's unflushed use."""

from __future__ import annotations

from newapi.billing.ledger import BalanceLoader
from newapi.billing.writer import UsageWriter
from newapi.models import Token, User


def balance_loaders(writer: UsageWriter) -> tuple[BalanceLoader, BalanceLoader]:
    async def load_user(user_id: int) -> int:
        rows = await User.filter(id=user_id).limit(1).values_list("quota", flat=True)
        return int(rows[0] or 0 if rows else 0) - writer.pending_users.get(user_id, 0)

    async def load_token(token_id: int) -> int:
        rows = await Token.filter(id=token_id).limit(1).values_list("remain_quota", flat=True)
        return int(rows[0] or 0 if rows else 0) - writer.pending_tokens.get(token_id, 0)

    return load_user, load_token
