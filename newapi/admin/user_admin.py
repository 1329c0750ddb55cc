from __future__ import annotations

from quart import Blueprint

bp = Blueprint("user_admin", __name__, url_prefix="/api/user")
