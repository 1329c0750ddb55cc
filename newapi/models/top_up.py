from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i64, s0, s1


class TopUp(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = i64()
    amount = i64()
    money = fields.FloatField(default=0, db_default=0, null=True)
    trade_no = fields.CharField(max_length=255, unique=True, null=True)
    payment_method = s1(size=50)
    payment_provider = s1(size=50)
    create_time = i64()
    complete_time = i64()
    status = s0()

    class Meta:
        table = "top_ups"
        indexes = (Index(fields=("user_id",), name="idx_top_ups_user_id"),)
