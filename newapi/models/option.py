from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Option(Model):
    # One configuration value; every value is a string (booleans "true"/"false").

    key = fields.CharField(max_length=191, primary_key=True)
    value = fields.TextField(null=True)

    class Meta:
        table = "options"
