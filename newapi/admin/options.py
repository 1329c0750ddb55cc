from __future__ import annotations

from quart import Blueprint

bp = Blueprint("options", __name__, url_prefix="/api")
