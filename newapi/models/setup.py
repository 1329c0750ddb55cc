from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Setup(Model):
    # One row, written when the first root user is created.

    id = fields.BigIntField(primary_key=True)
    version = fields.CharField(max_length=50)
    initialized_at = fields.BigIntField()

    class Meta:
        table = "setups"
