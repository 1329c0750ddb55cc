from __future__ import annotations

from quart import Blueprint

bp = Blueprint("relay_media", __name__)
