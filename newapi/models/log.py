from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import flag, i64, s0, s1

LOG_UNKNOWN = 0
LOG_TOPUP = 1
LOG_CONSUME = 2
LOG_MANAGE = 3
LOG_SYSTEM = 4
LOG_ERROR = 5
LOG_REFUND = 6
LOG_LOGIN = 7


def _idx(column: str) -> Index:
    return Index(fields=(column,), name=f"idx_logs_{column}")


class Log(Model):
    # One usage or audit record. Lives in the ``logs`` app, which ``LOG_SQL_DSN`` may move.

    id = fields.BigIntField(primary_key=True)
    user_id = i64()
    created_at = i64()
    type = i64()
    content = s0()
    username = s1()
    token_name = s1()
    model_name = s1()
    quota = i64()
    prompt_tokens = i64()
    completion_tokens = i64()
    use_time = i64()
    is_stream = flag()
    channel_id = i64()
    channel_name = s0()
    token_id = i64()
    group = s1()
    ip = s1()
    request_id = s1(size=64)
    upstream_request_id = s1(size=128)
    other = s0()

    class Meta:
        table = "logs"
        app = "logs"
        indexes = (
            _idx("user_id"),
            _idx("username"),
            _idx("token_name"),
            _idx("model_name"),
            _idx("channel_id"),
            _idx("token_id"),
            _idx("group"),
            _idx("ip"),
            _idx("request_id"),
            _idx("upstream_request_id"),
            Index(fields=("created_at", "id"), name="idx_created_at_id"),
            Index(fields=("user_id", "id"), name="idx_user_id_id"),
            Index(fields=("created_at", "type"), name="idx_created_at_type"),
            Index(fields=("model_name", "username"), name="index_username_model_name"),
        )


class AppliedLog(Model):
    # A settlement whose log row the usage writer committed (same transaction, logs database).

    id = fields.CharField(max_length=32, primary_key=True)
    created_at = i64()

    class Meta:
        table = "applied_log_settlements"
        app = "logs"
        indexes = (Index(fields=("created_at",), name="idx_applied_log_settlements_created_at"),)
