from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i64, s1


class QuotaData(Model):
    # Hourly usage buckets for the dashboard, one row per (user, model, hour, ...).

    id = fields.BigIntField(primary_key=True)
    user_id = i64()
    username = s1(size=64)
    model_name = s1(size=64)
    created_at = i64()
    token_used = i64()
    count = i64()
    quota = i64()
    use_group = s1(size=64)
    token_id = i64()
    channel_id = i64()
    node_name = s1(size=64)

    class Meta:
        table = "quota_data"
        indexes = (
            Index(fields=("user_id",), name="idx_quota_data_user_id"),
            Index(fields=("created_at",), name="idx_qdt_created_at"),
            Index(fields=("model_name", "username"), name="idx_qdt_model_user_name"),
            Index(fields=("use_group",), name="idx_quota_data_use_group"),
            Index(fields=("token_id",), name="idx_quota_data_token_id"),
            Index(fields=("channel_id",), name="idx_quota_data_channel_id"),
            Index(fields=("node_name",), name="idx_quota_data_node_name"),
        )
