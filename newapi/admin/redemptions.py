from __future__ import annotations

from quart import Blueprint

bp = Blueprint("redemptions", __name__, url_prefix="/api")
