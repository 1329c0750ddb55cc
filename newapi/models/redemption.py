from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i64, s1, soft_delete

REDEMPTION_ENABLED = 1
REDEMPTION_DISABLED = 2
REDEMPTION_USED = 3


class Redemption(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = i64()
    key = fields.CharField(max_length=32, unique=True)
    status = i64(REDEMPTION_ENABLED)
    name = s1()
    quota = i64(100)
    created_time = i64()
    redeemed_time = i64()
    used_user_id = i64()
    expired_time = i64()
    deleted_at = soft_delete()

    class Meta:
        table = "redemptions"
        indexes = (
            Index(fields=("name",), name="idx_redemptions_name"),
            Index(fields=("deleted_at",), name="idx_redemptions_deleted_at"),
        )
