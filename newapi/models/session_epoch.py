from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SessionEpoch(Model):
    # Each user's current console-session epoch: a session cookie is good only while it carries
    # this value (newapi.auth.sessions). In the database, so it is shared by every node and
    # survives restarts of the gateway and of Redis. Not a new-api table.

    user_id = fields.IntField(primary_key=True, generated=False)
    epoch = fields.CharField(max_length=32)

    class Meta:
        table = "session_epochs"
