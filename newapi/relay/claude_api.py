"""``/v1/messages``: Anthropic's Messages API, on Anthropic or OpenAI-compatible channels."""

from __future__ import annotations

from quart import Response

from newapi.relay import relay_blueprint
from newapi.relay.http_connection import body_after_checks
from newapi.relay.openai_api import relay

bp = relay_blueprint("relay_claude")


@bp.post("/v1/messages")
@body_after_checks
async def messages() -> Response:
    # Routed like chat: an OpenAI-compatible channel gets /v1/chat/completions (converted),
    # an Anthropic channel /v1/messages (passed through).
    return await relay("chat/completions", caller_format="claude")
