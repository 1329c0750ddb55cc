"""Error logs (type 5, ``ERROR_LOG_ENABLED``): a refused or failed relay call, for its owner.

Only calls whose key was accepted are logged (an unknown key has no owner to show it to).
Rows go through the batched usage writer, never a query on the request path. ``other`` holds
new-api's fields: error_type, error_code, status_code, and the channels tried.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from quart import g, request

from newapi.errors import RelayError
from newapi.models.log import LOG_ERROR
from newapi.relay.auth import Caller
from newapi.relay.job import Job
from newapi.state import AppState


def error_row(
    caller: Caller, job: Job | None, model: str, error: RelayError, ip: str
) -> dict[str, Any]:
    other: dict[str, Any] = {
        "error_type": error.kind,
        "error_code": error.error_code,
        "status_code": error.http_status,
        "request_path": job.path if job is not None else "",
    }
    if job is not None and job.attempts.tried:
        other["admin_info"] = {"use_channel": list(job.attempts.tried)}
    return {
        "user_id": caller.user_id,
        "username": str(caller.user.get("username", "")),
        "created_at": int(time.time()),
        "type": LOG_ERROR,
        "content": error.message,
        "token_name": str(caller.token.get("name", "")),
        "model_name": job.model if job is not None else model,
        "quota": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "use_time": int(time.monotonic() - job.started) if job is not None else 0,
        "is_stream": job.stream if job is not None else False,
        "channel_id": job.attempts.tried[-1] if job is not None and job.attempts.tried else 0,
        "token_id": caller.token_id,
        "group": caller.group,
        "ip": ip,
        "request_id": job.request_id if job is not None else "",
        "other": orjson.dumps(other).decode(),
    }


def record_error(state: AppState, error: RelayError) -> None:
    """Log ``error`` for the current request's caller, when error logs are on."""
    caller: Caller | None = g.get("relay_caller")
    if not state.settings.error_log_enabled or caller is None:
        return
    job: Job | None = g.get("relay_job")
    model = g.get("relay_model", "")
    row = error_row(caller, job, model, error, request.remote_addr or "")
    state.writer.add_log(row, state.settings.max_unwritten_usage)
