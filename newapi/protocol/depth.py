"""How deeply a JSON request body nests: refused past :data:`MAX_DEPTH` (pure).

``orjson.loads`` reads up to 1,024 nested arrays and objects but ``orjson.dumps`` writes only
254, so a body in between parses, then fails when the relay writes it back for the upstream.
The limit leaves :data:`CONVERTER_MARGIN` levels below orjson's so that a converter may wrap
caller content a little deeper and still write it (a Claude tool's ``input_schema`` becomes an
OpenAI tool's ``function.parameters``: one level more). No real request comes close: deep JSON
Schemas in tools are a few dozen levels.

The check is one ``orjson.dumps`` of the body inside :data:`CONVERTER_MARGIN` extra lists,
which fails exactly when the body nests deeper than the limit. Measured on a loaded 2-core box:
2.3 us for a 6 KB chat body, 28 us for a 56 KB body with 25 tools (a third and a quarter of
what parsing them cost). Counting ``[`` and ``{`` bytes first, to skip the check on shallow
bodies, cost more than the check itself (7 us for the 6 KB body).
"""

from __future__ import annotations

from typing import Any

import orjson

WRITABLE_DEPTH = 254  # the most nested arrays and objects orjson.dumps writes
CONVERTER_MARGIN = 4
MAX_DEPTH = WRITABLE_DEPTH - CONVERTER_MARGIN


def too_deep(body: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body`` nests more than ``limit`` (at most 254) arrays and objects."""
    wrapped = body
    for _ in range(WRITABLE_DEPTH - limit):
        wrapped = [wrapped]
    try:
        orjson.dumps(wrapped)
    except orjson.JSONEncodeError:
        return True
    return False
