from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from newapi.models.fields import i64


class AppliedUsage(Model):
    # A settlement (journal record id) whose counters the usage writer committed: written in the
    # same transaction, so a journal replay never charges twice. Not a new-api table.

    id = fields.CharField(max_length=32, primary_key=True)
    created_at = i64()

    class Meta:
        table = "applied_settlements"
        indexes = (Index(fields=("created_at",), name="idx_applied_settlements_created_at"),)
