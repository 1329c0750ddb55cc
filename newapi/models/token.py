from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import flag, i64, s0, s1, soft_delete

TOKEN_ENABLED = 1
TOKEN_DISABLED = 2
TOKEN_EXPIRED = 3
TOKEN_EXHAUSTED = 4


class Token(Model):
    # An API key. ``key`` is 48 alphanumerics stored without the ``sk-`` prefix.

    id = fields.BigIntField(primary_key=True)
    user_id = i64()
    key = fields.CharField(max_length=128, unique=True)
    status = i64(TOKEN_ENABLED)
    name = s1()
    created_time = i64()
    accessed_time = i64()
    expired_time = i64(-1)
    remain_quota = i64()
    unlimited_quota = flag()
    model_limits_enabled = flag()
    model_limits = s0()
    allow_ips = s1()
    used_quota = i64()
    group = s1()
    cross_group_retry = flag()
    deleted_at = soft_delete()

    class Meta:
        table = "tokens"
        indexes = (
            Index(fields=("user_id",), name="idx_tokens_user_id"),
            Index(fields=("name",), name="idx_tokens_name"),
            Index(fields=("deleted_at",), name="idx_tokens_deleted_at"),
        )
