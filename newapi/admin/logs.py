from __future__ import annotations

from quart import Blueprint

bp = Blueprint("logs", __name__, url_prefix="/api")
