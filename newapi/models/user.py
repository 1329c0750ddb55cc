from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i32, i64, s0, s1, soft_delete

ROLE_GUEST = 0
ROLE_COMMON = 1
ROLE_ADMIN = 10
ROLE_ROOT = 100

USER_ENABLED = 1
USER_DISABLED = 2


def _idx(*columns: str) -> Index:
    return Index(fields=columns, name=f"idx_users_{columns[0]}")


class User(Model):
    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=191, unique=True)
    password = fields.TextField()
    display_name = s1()
    role = i32(ROLE_COMMON)
    status = i32(USER_ENABLED)
    email = s1()
    github_id = s1()
    discord_id = s1()
    oidc_id = s1()
    wechat_id = s1()
    telegram_id = s1()
    linux_do_id = s1()
    access_token = fields.CharField(max_length=32, null=True, unique=True)
    quota = i64()
    used_quota = i64()
    request_count = i64()
    group = s1("default", size=64)
    aff_code = fields.CharField(max_length=32, null=True, unique=True)
    aff_count = i64()
    aff_quota = i64()
    aff_history = i64()
    inviter_id = i64()
    deleted_at = soft_delete()
    setting = s0()
    remark = s1(size=255)
    stripe_customer = s1(size=64)
    created_at = i64()
    last_login_at = i64()

    class Meta:
        table = "users"
        indexes = (
            _idx("display_name"),
            _idx("email"),
            _idx("github_id"),
            _idx("discord_id"),
            _idx("oidc_id"),
            _idx("wechat_id"),
            _idx("telegram_id"),
            _idx("linux_do_id"),
            _idx("inviter_id"),
            _idx("deleted_at"),
            _idx("stripe_customer"),
        )
