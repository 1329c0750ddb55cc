from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i64, s0, s1

CHANNEL_UNKNOWN = 0
CHANNEL_ENABLED = 1
CHANNEL_MANUALLY_DISABLED = 2
CHANNEL_AUTO_DISABLED = 3


class Channel(Model):
    # An upstream account. ``key`` may hold several newline-separated keys.

    id = fields.BigIntField(primary_key=True)
    type = i64()
    key = fields.TextField()
    openai_organization = s0(source_field="open_ai_organization")
    test_model = s0()
    status = i64(CHANNEL_ENABLED)
    name = s1()
    weight = i64()
    created_time = i64()
    test_time = i64()
    response_time = i64()
    base_url = s1()
    other = s0()
    balance = fields.FloatField(default=0, db_default=0, null=True)
    balance_updated_time = i64()
    models = s0()
    group = s1("default", size=64)
    used_quota = i64()
    model_mapping = s0()
    status_code_mapping = s1(size=1024)
    priority = i64()
    auto_ban = i64(1)
    other_info = s0()
    tag = s1(None)
    setting = s0()
    param_override = s0()
    header_override = s0()
    remark = s1(None, size=255)
    channel_info = s0()
    settings = s0()

    class Meta:
        table = "channels"
        indexes = (
            Index(fields=("name",), name="idx_channels_name"),
            Index(fields=("tag",), name="idx_channels_tag"),
        )
