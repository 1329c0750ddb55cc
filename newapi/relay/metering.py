"""Settle a finished request: the real quota, the ledger correction, the batched usage write."""

from __future__ import annotations

import time
from typing import Any

import orjson

from newapi.billing.quota import describe, log_other, quota_for
from newapi.billing.writer import Consumption
from newapi.models.log import LOG_CONSUME
from newapi.protocol.usage import Usage
from newapi.relay.job import Job
from newapi.routing.index import ChannelSnapshot
from newapi.state import AppState


async def settle(
    state: AppState,
    job: Job,
    channel: ChannelSnapshot | None,
    usage: Usage | None,
    *,
    upstream_model: str = "",
) -> int:
    """Charge what was used (0 when nothing was served) and record it; return the quota."""
    options = state.options.current
    if channel is None or usage is None:
        await state.ledger.settle(job.reservation, 0)
        return 0
    quota = quota_for(usage, job.price, options.float("QuotaPerUnit"))
    row = (
        _log_row(job, channel, usage, quota, upstream_model)
        if options.bool("LogConsumeEnabled")
        else None
    )
    await state.writer.add(
        Consumption(
            user_id=job.caller.user_id,
            username=str(job.caller.user.get("username", "")),
            token_id=job.caller.token_id,
            channel_id=channel.id,
            model_name=job.model,
            quota=quota,
            tokens=usage.total_tokens,
            log=row,
            export=options.bool("DataExportEnabled"),
            hold=job.reservation.hold,
        )
    )
    # Recorded first: a cache outage may fail the balance correction, never the charge.
    await state.ledger.settle(job.reservation, quota)
    return quota


def _log_row(
    job: Job, channel: ChannelSnapshot, usage: Usage, quota: int, upstream_model: str
) -> dict[str, Any]:
    now = time.monotonic()
    other = log_other(job.price, usage)
    other["frt"] = int(((job.first_byte or now) - job.started) * 1000)
    other["request_path"] = job.path
    other["admin_info"] = {"use_channel": list(job.attempts.tried)}
    if channel.channel_info.get("is_multi_key"):
        other["admin_info"].update(is_multi_key=True, multi_key_index=job.key_index)
    if job.affinity is not None:
        other["admin_info"]["channel_affinity"] = job.affinity
    if job.stream_status is not None:
        other["stream_status"] = job.stream_status
    if usage.estimated:
        other["admin_info"]["local_count_tokens"] = True
    if upstream_model and upstream_model != job.model:
        other["is_model_mapped"] = True
        other["upstream_model_name"] = upstream_model
    return {
        "user_id": job.caller.user_id,
        "username": str(job.caller.user.get("username", "")),
        "created_at": int(time.time()),
        "type": LOG_CONSUME,
        "content": describe(job.price),
        "token_name": str(job.caller.token.get("name", "")),
        "model_name": job.model,
        "quota": quota,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "use_time": int(now - job.started),
        "is_stream": job.stream,
        "channel_id": channel.id,
        "token_id": job.caller.token_id,
        "group": job.caller.group,
        "ip": job.ip,
        "request_id": job.request_id,
        "other": orjson.dumps(other).decode(),
    }
