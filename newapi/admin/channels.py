"""``/api/channel``: upstream channels (admin), and ``GET /api/models`` (user).

Lists, search and ``GET /:id`` never carry the channel ``key``; only root reads it, through
``POST /:id/key``. Every write changes the channel rows and their ``abilities`` rows in one
transaction, then rebuilds this node's channel cache.

Input is checked before anything is stored (new-api stores most fields unchecked): JSON columns
must hold JSON objects, ``base_url`` must be an http(s) URL, names fit their columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from quart import Blueprint, Response, request
from tortoise.queryset import QuerySet

from newapi.adaptors.registry import not_served_reason, served
from newapi.admin.audit import audit
from newapi.admin.respond import (
    Body,
    int_arg,
    json_response,
    ok,
    page,
    page_request,
    path_id,
    read_body,
)
from newapi.auth.guards import admin_required, root_required, user_required
from newapi.auth.ratelimit import enforce_search_limit
from newapi.errors import BadRequest, NotFound
from newapi.models import Channel
from newapi.models.channel import (
    CHANNEL_AUTO_DISABLED,
    CHANNEL_ENABLED,
    CHANNEL_MANUALLY_DISABLED,
)
from newapi.params import POSITIVE, plain_int
from newapi.relay.health import test_channel
from newapi.relay.monitor import test_channels, testable
from newapi.routing import channel_types
from newapi.routing.index import split_list
from newapi.state import CHANNELS, app_state
from newapi.store import abilities
from newapi.store import channels as store

bp = Blueprint("channels", __name__, url_prefix="/api")

_MANUAL_STATUSES = (CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED)
_STATUSES = (CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED, CHANNEL_AUTO_DISABLED)
_MODEL_CREATED = 1626777600  # the fixed "created" new-api reports for listed models
_MULTI_KEY_MODES = ("random", "polling")
# Column sizes (MySQL varchar): name/base_url/tag 191, group 64, model 255 (abilities), remark 255.
_MAX_NAME = 191
_MAX_GROUPS = 64
_MAX_MODEL = 255
_MAX_REMARK = 255
_MAX_STATUS_CODE_MAPPING = 1024


# Reading and checking a channel from a request body.


def _type(body: Body, name: str) -> int:
    value = body.int(name, 0)
    if not channel_types.is_known(value):
        raise BadRequest(f"type {value} is not a known channel type")
    return value


def _refuse_unserved(channel_type: int) -> None:
    """Only rows adopted from a new-api database may hold a type newapi cannot serve."""
    if not served(channel_type):
        raise BadRequest(f"cannot create: {not_served_reason(channel_type)}")


def _name(body: Body, name: str) -> str:
    value = body.str(name).strip()
    if not value:
        raise BadRequest("name is required")
    if len(value) > _MAX_NAME:
        raise BadRequest(f"name must be at most {_MAX_NAME} characters")
    return value


def _status(body: Body, name: str) -> int:
    value = body.int(name, CHANNEL_ENABLED)
    if value not in _STATUSES:
        raise BadRequest("status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)")
    return value


def _weight(body: Body, name: str) -> int:
    value = body.int(name, 0)
    if value < 0:
        raise BadRequest("weight must not be negative")
    return value


def _priority(body: Body, name: str) -> int:
    return body.int(name, 0)


def _auto_ban(body: Body, name: str) -> int:
    number = body.int(name, 1)
    if number not in (0, 1):
        raise BadRequest("auto_ban must be 0 or 1")
    return number


def _text(body: Body, name: str) -> str:
    return body.str(name).strip()


def _remark(body: Body, name: str) -> str | None:
    return body.str(name, max_len=_MAX_REMARK).strip() or None


def _base_url(body: Body, name: str) -> str:
    value = body.str(name).strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("base_url must be empty or an http(s) URL such as https://api.example.com")
    if len(value) > _MAX_NAME:
        raise BadRequest(f"base_url must be at most {_MAX_NAME} characters")
    return value


def _name_list(body: Body, name: str) -> tuple[str, ...]:
    value = body.get(name)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return split_list(",".join(value))
    return split_list(body.str(name))


def _models(body: Body, name: str) -> str:
    models = _name_list(body, name)
    too_long = next((m for m in models if len(m) > _MAX_MODEL), None)
    if too_long is not None:
        raise BadRequest(f"model names must be at most {_MAX_MODEL} characters: {too_long[:40]}…")
    return ",".join(models)


def _group(body: Body, name: str) -> str:
    if name not in body:
        return "default"
    groups = ",".join(_name_list(body, name))
    if len(groups) > _MAX_GROUPS:
        raise BadRequest(f"group must be at most {_MAX_GROUPS} characters in all")
    return groups


def _tag(body: Body, name: str = "tag") -> str | None:
    value = body.str(name).strip()
    if len(value) > _MAX_NAME:
        raise BadRequest(f"tag must be at most {_MAX_NAME} characters")
    return value or None


def _json_object(body: Body, name: str) -> tuple[str, dict[str, Any]]:
    """A JSON-object field sent as text (or as an object): its stored text and parsed value."""
    value = body.get(name)
    if isinstance(value, dict):
        return orjson.dumps(value).decode(), value
    text = body.str(name).strip()
    if not text:
        return "", {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest(f"{name} must be a JSON object, and is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"{name} must be a JSON object")
    return text, parsed


def _plain_json(body: Body, name: str) -> str:
    return _json_object(body, name)[0]


def _model_mapping(body: Body, name: str) -> str:
    text, mapping = _json_object(body, name)
    for source, target in mapping.items():
        if not isinstance(target, str) or not target.strip():
            raise BadRequest(f"model_mapping[{source!r}] must be a model name (a string)")
    return text


def _is_status_code(value: object) -> bool:
    if isinstance(value, str):
        value = plain_int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _status_code_mapping(body: Body, name: str) -> str:
    text, mapping = _json_object(body, name)
    for source, target in mapping.items():
        if not _is_status_code(source) or not _is_status_code(target):
            raise BadRequest(
                f"status_code_mapping maps HTTP status codes to status codes (100-599), "
                f'as in {{"400": "500"}}; got {source!r}: {target!r}'
            )
    if len(text) > _MAX_STATUS_CODE_MAPPING:
        raise BadRequest(
            f"status_code_mapping must be at most {_MAX_STATUS_CODE_MAPPING} characters"
        )
    return text


Reader = Callable[[Body, str], Any]
_READERS: tuple[tuple[str, Reader], ...] = (
    ("type", _type),
    ("name", _name),
    ("status", _status),
    ("weight", _weight),
    ("priority", _priority),
    ("auto_ban", _auto_ban),
    ("base_url", _base_url),
    ("other", _text),
    ("models", _models),
    ("group", _group),
    ("openai_organization", _text),
    ("test_model", _text),
    ("tag", _tag),
    ("remark", _remark),
    ("model_mapping", _model_mapping),
    ("status_code_mapping", _status_code_mapping),
    ("param_override", _plain_json),
    ("header_override", _plain_json),
    ("setting", _plain_json),
    ("settings", _plain_json),
)
# The fields whose combination is checked after a partial edit is merged into the row.
_COMBINED = ("type", "models", "group", "base_url", "other")


def _fields(body: Body, *, creating: bool) -> dict[str, Any]:
    """The channel fields in ``body``, checked; on create every field, with defaults."""
    return {name: read(body, name) for name, read in _READERS if creating or name in body}


def _check_combined(values: dict[str, Any]) -> None:
    if not split_list(values.get("models")):
        raise BadRequest("models must list at least one model")
    if not split_list(values.get("group")):
        raise BadRequest("group must name at least one group")
    channel_type = values.get("type")
    if channel_type == channel_types.AZURE and not values.get("base_url"):
        raise BadRequest("an Azure channel needs base_url (https://<resource>.openai.azure.com)")
    if channel_type == channel_types.VERTEX_AI:
        _check_vertex_regions(values.get("other") or "")


def _check_vertex_regions(other: str) -> None:
    if not other.strip():
        raise BadRequest("a Vertex AI channel needs its region in other")
    if other.strip().startswith("{"):
        regions = store.json_object(other)
        if "default" not in regions:
            raise BadRequest('Vertex AI regions in other must be a JSON object with "default"')


# Keys: create modes and edits.


_VERTEX_ARRAY = "Vertex AI keys must be a JSON array such as [{...}, {...}]"


def _uses_service_accounts(channel_type: int, settings: str) -> bool:
    """A Vertex AI channel whose keys are service-account JSON (not express-mode API keys)."""
    uses_api_key = store.json_object(settings).get("vertex_key_type") == "api_key"
    return channel_type == channel_types.VERTEX_AI and not uses_api_key


def _json_key_list(text: str) -> list[str]:
    """The keys of a JSON array, one compact line each (new-api's ``getVertexArrayKeys``)."""
    try:
        items = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadRequest(_VERTEX_ARRAY) from None
    if not isinstance(items, list):
        raise BadRequest(_VERTEX_ARRAY)
    keys = [i.strip() if isinstance(i, str) else orjson.dumps(i).decode() for i in items]
    return [k for k in keys if k]


def _vertex_json_keys(channel_type: int, settings: str, text: str) -> list[str] | None:
    """Vertex service-account keys sent for several keys at once; None for other channels.

    As new-api, batch and multi-key creation want a JSON array: a lone object (or a pasted key
    file) would otherwise be cut into one "key" per line of its JSON.
    """
    if not _uses_service_accounts(channel_type, settings):
        return None
    if not text.startswith("["):
        raise BadRequest(_VERTEX_ARRAY)
    return _json_key_list(text)


def _sent_vertex_keys(text: str) -> list[str]:
    """The service accounts of a key edit: a JSON array, or one (pretty-printed) JSON object,
    each stored on one line (new-api's UpdateChannel takes either)."""
    if text.startswith("["):
        return _json_key_list(text)
    try:
        account = orjson.loads(text)
    except orjson.JSONDecodeError:
        account = None
    if not isinstance(account, dict):
        raise BadRequest("a Vertex AI key must be a service-account JSON object or a JSON array")
    return [orjson.dumps(account).decode()]


def _stored_keys(text: str) -> list[str]:
    """A multi-key channel's stored keys; new-api may have stored a JSON array (replace edits
    of Vertex AI channels), read as one key per element."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return _json_key_list(stripped)
        except BadRequest:
            pass
    return store.split_keys(text)


def _multi_key_info(keys: list[str], mode: str) -> str:
    if mode not in _MULTI_KEY_MODES:
        raise BadRequest("multi_key_mode must be random or polling")
    info = {
        "is_multi_key": True,
        "multi_key_size": len(keys),
        "multi_key_status_list": None,
        "multi_key_polling_index": 0,
        "multi_key_mode": mode,
    }
    return orjson.dumps(info).decode()


def _new_rows(mode: str, values: dict[str, Any], key: str, body: Body) -> list[dict[str, Any]]:
    """The channels one create request makes: one per key line in batch mode."""
    if mode not in ("single", "batch", "multi_to_single"):
        raise BadRequest("mode must be single, batch or multi_to_single")
    if not key:
        raise BadRequest("key is required")
    if mode == "single":
        return [{**values, "key": key}]
    listed = _vertex_json_keys(values["type"], values["settings"], key)
    keys = listed if listed is not None else store.split_keys(key)
    if not keys:
        raise BadRequest("key is required")
    if mode == "multi_to_single":
        info = _multi_key_info(keys, body.str("multi_key_mode", "random").strip())
        return [{**values, "key": "\n".join(keys), "channel_info": info}]
    prefix_names = body.bool("batch_add_set_key_prefix_2_name") and len(keys) > 1
    rows = [{**values, "key": k} for k in keys]
    if prefix_names:
        for row in rows:
            row["name"] = f"{values['name']} {row['key'][:8]}"[:_MAX_NAME]
    return rows


def _key_change(channel: Channel, body: Body, values: dict[str, Any]) -> dict[str, Any]:
    """Column updates for a key edit; an empty or missing key keeps the stored one.

    ``values`` are the edit's other fields: a type or settings sent along decide how the keys
    of a multi-key channel are read (Vertex AI service accounts are JSON, not lines).
    """
    key = body.str("key").strip()
    key_mode = body.str("key_mode").strip()
    if key_mode not in ("", "append", "replace"):
        raise BadRequest("key_mode must be append or replace")
    info = store.channel_info(channel)
    multi_key_mode = body.str("multi_key_mode").strip()
    if multi_key_mode and multi_key_mode not in _MULTI_KEY_MODES:
        raise BadRequest("multi_key_mode must be random or polling")
    if not info.get("is_multi_key"):
        return {"key": key} if key else {}
    updates: dict[str, Any] = {}
    if key:
        channel_type = values.get("type", channel.type)
        settings = values.get("settings", channel.settings or "")
        if _uses_service_accounts(channel_type, settings):
            sent = list(dict.fromkeys(_sent_vertex_keys(key)))
        else:
            sent = store.split_keys(key)
        if not sent:
            raise BadRequest("key is required")
        stored = _stored_keys(channel.key or "")
        keys = stored + [k for k in sent if k not in stored] if key_mode == "append" else sent
        _resize_multi_key(info, len(keys))
        updates["key"] = "\n".join(keys)
    if multi_key_mode:
        info["multi_key_mode"] = multi_key_mode
    if updates or multi_key_mode:
        updates["channel_info"] = orjson.dumps(info).decode()
    return updates


def _resize_multi_key(info: dict[str, Any], size: int) -> None:
    info["multi_key_size"] = size
    statuses = info.get("multi_key_status_list")
    if isinstance(statuses, dict):
        info["multi_key_status_list"] = {
            i: s for i, s in statuses.items() if str(i).isdigit() and int(i) < size
        }


# Reads.


async def _refresh() -> None:
    await app_state().changed(CHANNELS)  # this worker now, the others through the cache


def _filtered() -> QuerySet[Channel]:
    """Channels matching the ``group``, ``status`` and ``tag`` query parameters."""
    args = request.args
    query = Channel.all()
    group = args.get("group", "").strip()
    if group and group not in ("all", "null"):
        query = query.filter(store.group_filter(group))
    status = store.status_filter(args.get("status", ""))
    if status is not None:
        query = query.filter(status)
    tag = args.get("tag", "").strip()
    if tag:
        query = query.filter(tag=tag)
    return query


def _order() -> tuple[str, ...]:
    args = request.args
    id_sort = args.get("id_sort", "").strip().lower() in ("1", "t", "true")
    return store.ordering(args.get("sort_by", ""), args.get("sort_order", ""), id_sort)


async def _page_of(query: QuerySet[Channel]) -> Response:
    """One page of ``query``; ``type_counts`` is counted before the ``type`` filter, as new-api."""
    req = page_request()
    counts = await store.type_counts(query)
    channel_type = int_arg("type", -1)
    if channel_type >= 0:
        query = query.filter(type=channel_type)
    total = await query.count()
    rows = await query.order_by(*_order()).offset(req.offset).limit(req.size)
    return page([store.channel_json(c) for c in rows], total, req, type_counts=counts)


@bp.get("/channel/")
@admin_required
async def list_channels() -> Response:
    return await _page_of(_filtered())


@bp.get("/channel/search")
@admin_required
async def search_channels() -> Response:
    await enforce_search_limit()
    query = _filtered()
    keyword = request.args.get("keyword", "").strip()
    if keyword:
        query = query.filter(store.keyword_filter(keyword))
    model = request.args.get("model", "").strip()
    if model:
        query = query.filter(models__icontains=model)
    return await _page_of(query)


async def _channel(channel_id: int) -> Channel:
    channel = await Channel.filter(id=channel_id).first()
    if channel is None:
        raise NotFound("channel not found")
    return channel


@bp.get("/channel/<raw_id>")
@admin_required
async def get_channel(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    return ok(store.channel_json(await _channel(channel_id)))


@bp.post("/channel/<raw_id>/key")
@root_required
async def reveal_key(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    channel = await _channel(channel_id)
    await audit("channel.key", f"revealed the key of channel {channel_id}", {"id": channel_id})
    return ok({"key": channel.key or ""})


@bp.get("/channel/models")
@admin_required
async def list_models() -> Response:
    """Known default models plus every model set on a channel, as OpenAI model objects."""
    catalog = dict(channel_types.model_catalog())
    configured = store.models_of(app_state().channels.index.channels.values())
    for model in sorted(configured - catalog.keys()):
        catalog[model] = "custom"
    models = [
        {"id": model, "object": "model", "created": _MODEL_CREATED, "owned_by": owner}
        for model, owner in catalog.items()
    ]
    return ok(models)


@bp.get("/channel/models_enabled")
@admin_required
async def list_enabled_models() -> Response:
    return ok(list(app_state().channels.index.all_models()))


@bp.get("/channel/tag/models")
@admin_required
async def tag_models() -> Response:
    """The longest ``models`` list among the channels of ``tag`` (prefills the tag editor)."""
    tag = request.args.get("tag", "").strip()
    if not tag:
        raise BadRequest("tag must not be empty")
    rows = await Channel.filter(tag=tag).values_list("models", flat=True)
    return ok(max((m or "" for m in rows), key=lambda m: len(split_list(m)), default=""))


@bp.get("/models")
@user_required
async def default_models() -> Response:
    return ok(channel_types.default_models())


# Writes.


@bp.post("/channel/")
@admin_required
async def create_channel() -> Response:
    body = await read_body()
    wrapped = "channel" in body
    raw = body.get("channel") if wrapped else body.data
    if not isinstance(raw, dict):
        raise BadRequest("channel must be an object")
    # Without ``channel`` the body is the older bare channel object: one channel per key line.
    mode = body.str("mode", "single" if wrapped else "batch").strip()
    channel_body = Body(raw)
    values = _fields(channel_body, creating=True)
    _refuse_unserved(values["type"])
    _check_combined(values)
    rows = _new_rows(mode, values, channel_body.str("key").strip(), body)
    now = int(time.time())
    async with store.transaction() as conn:
        created = [await Channel.create(using_db=conn, created_time=now, **row) for row in rows]
        await abilities.rebuild(conn, created)
    await _refresh()
    ids = [channel.id for channel in created]
    await audit("channel.create", f"created {len(ids)} channel(s)", {"ids": ids, "mode": mode})
    return ok(ids)


@bp.put("/channel/")
@admin_required
async def update_channel() -> Response:
    body = await read_body()
    if "id" not in body:
        raise BadRequest("id is required")
    channel_id = body.int("id", bounds=POSITIVE)
    values = _fields(body, creating=False)
    async with store.transaction() as conn:
        channel = await Channel.filter(id=channel_id).select_for_update().using_db(conn).first()
        if channel is None:
            raise NotFound("channel not found")
        if values.get("type", channel.type) != channel.type:
            _refuse_unserved(values["type"])  # switching to such a type would create one
        _check_combined({**{f: getattr(channel, f) for f in _COMBINED}, **values})
        values.update(_key_change(channel, body, values))
        for name, value in values.items():
            setattr(channel, name, value)
        if values:
            await channel.save(using_db=conn, update_fields=list(values))
        await abilities.rebuild(conn, [channel])
    await _refresh()
    # Field names only: values may hold keys or header overrides with credentials.
    fields = sorted(set(values) - {"key"}) + (["key"] if "key" in values else [])
    await audit(
        "channel.update", f"edited channel {channel_id}", {"id": channel_id, "fields": fields}
    )
    return ok(store.channel_json(channel))


async def _delete(ids: Sequence[int]) -> int:
    if not ids:
        return 0
    async with store.transaction() as conn:
        deleted = await Channel.filter(id__in=list(ids)).using_db(conn).delete()
        await abilities.delete_for(conn, ids)
    await _refresh()
    await audit("channel.delete", f"deleted {deleted} channel(s)", {"ids": list(ids)})
    return deleted


@bp.delete("/channel/<raw_id>")
@admin_required
async def delete_channel(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    if not await _delete([channel_id]):
        raise NotFound("channel not found")
    return ok()


@bp.delete("/channel/disabled")
@admin_required
async def delete_disabled() -> Response:
    disabled = (CHANNEL_MANUALLY_DISABLED, CHANNEL_AUTO_DISABLED)
    ids = await Channel.filter(status__in=disabled).values_list("id", flat=True)
    return ok(await _delete(list(ids)))


def _ids(body: Body) -> list[int]:
    ids = body.int_list("ids")
    if not ids:
        raise BadRequest("ids must not be empty")
    return list(dict.fromkeys(ids))


@bp.post("/channel/batch")
@admin_required
async def delete_batch() -> Response:
    return ok(await _delete(_ids(await read_body())))


def _manual_status(body: Body) -> int:
    status = body.int("status", -1)
    if status not in _MANUAL_STATUSES:
        raise BadRequest("status must be 1 (enabled) or 2 (disabled)")
    return status


async def _set_status(query: QuerySet[Channel], status: int, reason: str) -> int:
    """Set ``status`` on the channels of ``query`` that differ; returns how many changed."""
    ids = await store.change_status(query, status, reason)
    if ids:
        await _refresh()
        await audit("channel.status", f"{reason}: status {status}", {"ids": ids, "status": status})
    return len(ids)


@bp.post("/channel/<raw_id>/status")
@admin_required
async def set_status(raw_id: str) -> Response:
    channel_id = path_id("id", raw_id)
    status = _manual_status(await read_body())
    await _channel(channel_id)
    changed = await _set_status(Channel.filter(id=channel_id), status, "manual operation")
    return ok(changed > 0)


@bp.post("/channel/status/batch")
@admin_required
async def set_status_batch() -> Response:
    body = await read_body()
    ids, status = _ids(body), _manual_status(body)
    return ok(await _set_status(Channel.filter(id__in=ids), status, "manual batch operation"))


async def _tag_status(status: int) -> Response:
    tag = (await read_body()).str("tag").strip()
    if not tag:
        raise BadRequest("tag must not be empty")
    await _set_status(Channel.filter(tag=tag), status, "manual tag operation")
    return ok()


@bp.post("/channel/tag/enabled")
@admin_required
async def enable_tag() -> Response:
    return await _tag_status(CHANNEL_ENABLED)


@bp.post("/channel/tag/disabled")
@admin_required
async def disable_tag() -> Response:
    return await _tag_status(CHANNEL_MANUALLY_DISABLED)


# The fields a tag edit may set on every channel of the tag (new-api's PUT /tag).
_TAG_FIELDS = (
    "priority",
    "weight",
    "models",
    "group",
    "model_mapping",
    "param_override",
    "header_override",
)


@bp.put("/channel/tag")
@admin_required
async def edit_tag() -> Response:
    """Edit what the channels of ``tag`` share: only the fields present are changed."""
    body = await read_body()
    tag = body.str("tag").strip()
    if not tag:
        raise BadRequest("tag must not be empty")
    if "groups" in body and "group" not in body:
        body = Body({**body.data, "group": body.data["groups"]})
    readers = dict(_READERS)
    values = {name: readers[name](body, name) for name in _TAG_FIELDS if name in body}
    if "new_tag" in body:
        values["tag"] = _tag(body, "new_tag")  # "" removes the tag
    if not values:
        raise BadRequest("nothing to change: give new_tag or a shared field")
    async with store.transaction() as conn:
        rows = await Channel.filter(tag=tag).select_for_update().using_db(conn)
        for channel in rows:
            _check_combined({**{f: getattr(channel, f) for f in _COMBINED}, **values})
            for name, value in values.items():
                setattr(channel, name, value)
            await channel.save(using_db=conn, update_fields=list(values))
        await abilities.rebuild(conn, rows)
    await _refresh()
    await audit(
        "channel.tag",
        f"edited tag {tag}",
        {"tag": tag, "fields": sorted(values), "ids": [c.id for c in rows]},
    )
    return ok(len(rows))


@bp.post("/channel/batch/tag")
@admin_required
async def set_tag_batch() -> Response:
    body = await read_body()
    ids, tag = _ids(body), _tag(body)
    async with store.transaction() as conn:
        rows = await Channel.filter(id__in=ids).select_for_update().using_db(conn)
        for channel in rows:
            channel.tag = tag
            await channel.save(using_db=conn, update_fields=["tag"])
        await abilities.rebuild(conn, rows)
    await _refresh()
    return ok(len(rows))


@bp.post("/channel/fix")
@admin_required
async def fix_abilities() -> Response:
    """Rebuild every ``abilities`` row from the channels, all or nothing."""
    async with store.transaction() as conn:
        await abilities.rebuild_all(conn)
        count = await Channel.all().using_db(conn).count()
    await _refresh()
    return ok({"success": count, "fails": 0})


# ---- channel tests -----------------------------------------------------------------------------


@bp.get("/channel/test/<raw_id>")
@admin_required
async def test_one(raw_id: str) -> Response:
    """A real minimal request through the channel's adaptor: ``{success, message, time}``."""
    channel_id = path_id("id", raw_id)
    state = app_state()
    await state.channels.refresh_after_write()
    channel = state.channels.index.channel(channel_id)
    if channel is None:
        raise NotFound("channel not found")
    model = (
        request.args.get("model", "").strip()
        or channel.test_model
        or (channel.models[0] if channel.models else "")
    )
    if not model:
        raise BadRequest("the channel has no model to test with")
    result = await test_channel(state, channel, model)
    body = {"success": result.ok, "message": result.message, "time": round(result.seconds, 3)}
    if result.usage is not None:
        body["usage"] = {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
        }
    return json_response(body)


@bp.get("/channel/test")
@admin_required
async def test_all() -> Response:
    """Test every channel not disabled by hand, one after another, in the background."""
    state = app_state()
    channels = testable(state, scheduled=False)
    state.spawn(test_channels(state, channels), "channel-test-all")
    return ok(message=f"testing {len(channels)} channel(s) in the background")
