"""Tortoise models on new-api's tables and column names (reference: admin §2-3).

``abilities`` has a composite primary key, which Tortoise cannot model: it is written with plain
SQL in :mod:`newapi.store.abilities` and created by the migrations.
"""

from newapi.models.applied import AppliedUsage
from newapi.models.channel import Channel
from newapi.models.log import AppliedLog, Log
from newapi.models.option import Option
from newapi.models.quota_data import QuotaData
from newapi.models.redemption import Redemption
from newapi.models.session_epoch import SessionEpoch
from newapi.models.setup import Setup
from newapi.models.token import Token
from newapi.models.top_up import TopUp
from newapi.models.user import User

__all__ = [
    "AppliedLog",
    "AppliedUsage",
    "Channel",
    "Log",
    "Option",
    "QuotaData",
    "Redemption",
    "SessionEpoch",
    "Setup",
    "Token",
    "TopUp",
    "User",
]
