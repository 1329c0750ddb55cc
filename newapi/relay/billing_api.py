from __future__ import annotations

from quart import Blueprint

bp = Blueprint("relay_billing_api", __name__)
