"""``/api/user`` admin routes: list, search, create, edit and manage users.

Role rules (new-api's ``canManageTargetRole``): root may manage every user, anyone else only
users with a lower role; only root promotes to admin; the root user is never disabled, deleted
or demoted. Deleted users are soft-deleted: the list and search still show them, everything
else treats them as gone.

Quota: ``add`` and ``subtract`` are atomic ``quota = quota +/- n`` updates, and ``subtract``
is refused when the user holds less than ``n`` (quota never goes below 0 through the admin
API); ``override`` sets an exact value >= 0. ``PUT /`` with a ``quota`` that differs from the
stored one is an override too, written only if the stored value did not change meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request
from tortoise.transactions import in_transaction

from newapi.admin.audit import audit
from newapi.admin.respond import Body, int_arg, ok, page, page_request, path_id, read_body
from newapi.admin.users import (
    check_password,
    check_username,
    forbid_self_escalation,
    new_aff_code,
    user_json,
)
from newapi.auth.guards import admin_required, current_user
from newapi.auth.passwords import hash_password
from newapi.auth.ratelimit import enforce_search_limit
from newapi.auth.sessions import end_sessions
from newapi.errors import BadRequest, Conflict, Forbidden, NotFound
from newapi.models import User
from newapi.models.user import ROLE_ADMIN, ROLE_COMMON, ROLE_ROOT, USER_DISABLED, USER_ENABLED
from newapi.params import POSITIVE
from newapi.state import app_state
from newapi.store import users as store

bp = Blueprint("user_admin", __name__, url_prefix="/api/user")

MAX_DISPLAY_NAME = 20
MAX_REMARK = 255
MAX_GROUP = 64
_CREATABLE_ROLES = (ROLE_COMMON, ROLE_ADMIN)

Handler = Callable[[User, Body], Awaitable[Any]]


def can_manage(actor: User, target: User) -> bool:
    return actor.role == ROLE_ROOT or (actor.role or 0) > (target.role or 0)


async def _target(user_id: int) -> User:
    user = await store.live(id=user_id).first() if 0 < user_id <= store.MAX_ID else None
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if not can_manage(current_user(), user):
        raise Forbidden("you can only manage users with a lower role than yours")
    return user


async def _invalidate(user_id: int, *, with_tokens: bool = False) -> None:
    keys = await store.token_keys(user_id) if with_tokens else ()
    await app_state().entities.invalidate(token_keys=keys, user_ids=(user_id,))


def _required_id(body: Body) -> int:
    if "id" not in body:
        raise BadRequest("id is required")
    return body.int("id", bounds=POSITIVE)


def _optional_int_arg(name: str) -> int | None:
    return int_arg(name, 0) if request.args.get(name, "").strip() else None


def _label(user: User) -> str:
    return f"{user.username} (id {user.id})"


@bp.get("/")
@admin_required
async def list_users() -> Response:
    req = page_request()
    query = store.everyone()
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([user_json(u) for u in rows], total, req)


@bp.get("/search")
@admin_required
async def search_users() -> Response:
    await enforce_search_limit()
    req = page_request()
    args = request.args
    query = store.search(
        args.get("keyword", "").strip(),
        args.get("group", "").strip(),
        _optional_int_arg("role"),
        _optional_int_arg("status"),
    )
    total = await query.count()
    rows = await query.order_by("-id").offset(req.offset).limit(req.size)
    return page([user_json(u) for u in rows], total, req)


@bp.get("/<raw_id>")
@admin_required
async def get_user(raw_id: str) -> Response:
    user_id = path_id("id", raw_id)
    return ok(user_json(await _target(user_id)))


@bp.post("/")
@admin_required
async def create_user() -> Response:
    body = await read_body()
    username = check_username(body.str("username"))
    password = check_password(body.str("password"))
    display_name = body.str("display_name", max_len=MAX_DISPLAY_NAME).strip() or username
    role = body.int("role", ROLE_COMMON) or ROLE_COMMON
    if role not in _CREATABLE_ROLES:
        raise BadRequest("role must be 1 (common user) or 10 (admin)")
    forbid_self_escalation(current_user(), role)
    if await store.username_taken(username):
        raise BadRequest("this username is taken")
    user = await User.create(
        username=username,
        password=await hash_password(password),
        display_name=display_name,
        role=role,
        status=USER_ENABLED,
        quota=app_state().options.current.int("QuotaForNewUser"),
        aff_code=await new_aff_code(),
        created_at=int(time.time()),
    )
    await audit(
        "user.create",
        f"created user {_label(user)} with role {role}",
        {"username": username, "role": role},
        user.id,
    )
    return ok()


def _check_group(group: str) -> str:
    if not group:
        raise BadRequest("group must not be empty")
    if group not in app_state().options.current.ratio_map("GroupRatio"):
        raise BadRequest(f"group {group!r} does not exist (see the GroupRatio option)")
    return group


async def _profile_changes(body: Body, target: User) -> dict[str, Any]:
    """The validated profile fields of a ``PUT /``; the password arrives already hashed."""
    if "role" in body and body.int("role") not in (0, target.role):
        raise BadRequest("the role cannot be changed here: use manage with promote or demote")
    changes: dict[str, Any] = {}
    if "username" in body:
        username = check_username(body.str("username"))
        if username != target.username and await store.username_taken(
            username, except_id=target.id
        ):
            raise BadRequest("this username is taken")
        changes["username"] = username
    if "display_name" in body:
        name = body.str("display_name", max_len=MAX_DISPLAY_NAME).strip()
        changes["display_name"] = name or changes.get("username", target.username)
    if "group" in body:
        changes["group"] = _check_group(body.str("group", max_len=MAX_GROUP).strip())
    if "remark" in body:
        changes["remark"] = body.str("remark", max_len=MAX_REMARK)
    if body.str("password"):
        changes["password"] = await hash_password(check_password(body.str("password")))
    return changes


def _quota_value(body: Body, name: str) -> int:
    value = body.int(name)
    if not 0 <= value <= store.MAX_QUOTA:
        raise BadRequest(f"{name} must be between 0 and {store.MAX_QUOTA}")
    return value


@bp.put("/")
@admin_required
async def update_user() -> Response:
    body = await read_body()
    if "quota" in body:
        # An absolute quota must not have this node's unflushed usage subtracted after it.
        await app_state().writer.flush()
    target = await _target(_required_id(body))
    changes = await _profile_changes(body, target)
    quota = _quota_value(body, "quota") if "quota" in body else None
    if quota == (target.quota or 0):
        quota = None
    async with in_transaction(store.MAIN_CONNECTION):
        if changes:
            await store.live(id=target.id).update(**changes)
        if quota is not None and not await store.set_quota(
            target.id, quota, expected=target.quota or 0
        ):
            raise Conflict("the user's quota changed while saving; reload and try again")
    await _invalidate(target.id)
    if "password" in changes:
        await end_sessions(target.id)
    params: dict[str, Any] = {"username": target.username, "fields": sorted(changes)}
    if quota is not None:
        params.update(quota_from=target.quota or 0, quota_to=quota)
    await audit("user.update", f"edited user {_label(target)}", params, target.id)
    return ok()


async def _set_status(target: User, status: int) -> dict[str, int]:
    if status == USER_DISABLED and target.role == ROLE_ROOT:
        raise BadRequest("the root user cannot be disabled")
    await store.live(id=target.id).update(status=status)
    await _invalidate(target.id, with_tokens=True)
    if status == USER_DISABLED:
        await end_sessions(target.id)
    return {"role": target.role or 0, "status": status}


async def _disable(target: User, body: Body) -> dict[str, int]:
    return await _set_status(target, USER_DISABLED)


async def _enable(target: User, body: Body) -> dict[str, int]:
    return await _set_status(target, USER_ENABLED)


async def _delete(target: User, body: Body) -> None:
    if target.role == ROLE_ROOT:
        raise BadRequest("the root user cannot be deleted")
    if not await store.soft_delete(target.id):
        raise NotFound(f"user {target.id} not found")
    await _invalidate(target.id, with_tokens=True)
    await end_sessions(target.id)


async def _logout(target: User, body: Body) -> None:
    """Force logout: every session of the user ends on every node (access tokens stay)."""
    await end_sessions(target.id)


async def _promote(target: User, body: Body) -> dict[str, int]:
    if current_user().role != ROLE_ROOT:
        raise Forbidden("only the root user can promote users to admin")
    if not await store.live(id=target.id, role__lt=ROLE_ADMIN).update(role=ROLE_ADMIN):
        raise BadRequest("this user is already an admin")
    await _invalidate(target.id)
    return {"role": ROLE_ADMIN, "status": target.status or 0}


async def _demote(target: User, body: Body) -> dict[str, int]:
    if target.role == ROLE_ROOT:
        raise BadRequest("the root user cannot be demoted")
    demoted = await store.live(id=target.id, role__gt=ROLE_COMMON, role__lt=ROLE_ROOT).update(
        role=ROLE_COMMON
    )
    if not demoted:
        raise BadRequest("this user is already a common user")
    await _invalidate(target.id)
    return {"role": ROLE_COMMON, "status": target.status or 0}


async def _add_quota(target: User, body: Body) -> None:
    mode = body.str("mode")
    if "value" not in body:
        raise BadRequest("value is required")
    value = _quota_value(body, "value")
    if mode == "override":
        await app_state().writer.flush()  # unflushed usage must land before an absolute value
        await store.set_quota(target.id, value)
    elif mode not in ("add", "subtract"):
        raise BadRequest("mode must be add, subtract or override")
    elif value == 0:
        raise BadRequest("value must be greater than 0")
    elif mode == "add" and not await store.add_quota(target.id, value):
        raise BadRequest(f"the user's quota would exceed {store.MAX_QUOTA}")
    elif mode == "subtract" and not await store.subtract_quota(target.id, value):
        held = await store.current_quota(target.id)
        raise BadRequest(f"cannot subtract {value}: the user has only {held} quota")
    await _invalidate(target.id)


_ACTIONS: dict[str, Handler] = {
    "disable": _disable,
    "enable": _enable,
    "delete": _delete,
    "promote": _promote,
    "demote": _demote,
    "add_quota": _add_quota,
    "logout": _logout,
}


@bp.post("/manage")
@admin_required
async def manage_user() -> Response:
    body = await read_body()
    action = body.str("action")
    handler = _ACTIONS.get(action)
    if handler is None:
        raise BadRequest(f"action must be one of: {', '.join(_ACTIONS)}")
    target = await _target(_required_id(body))
    data = await handler(target, body)
    params: dict[str, Any] = {"action": action, "username": target.username}
    if action == "add_quota":
        params.update(mode=body.str("mode"), value=body.int("value"))
    await audit(f"user.{action}", _manage_content(action, target, params), params, target.id)
    return ok(data)


def _manage_content(action: str, target: User, params: dict[str, Any]) -> str:
    if action == "logout":
        return f"logged out every session of user {_label(target)}"
    if action != "add_quota":
        return f"{action}d user {_label(target)}"  # every other such action ends in "e"
    mode, value = params["mode"], params["value"]
    if mode == "override":
        return f"set the quota of user {_label(target)} to {value}"
    verb = "added" if mode == "add" else "subtracted"
    return f"{verb} {value} quota {'to' if mode == 'add' else 'from'} user {_label(target)}"


@bp.delete("/<raw_id>")
@admin_required
async def delete_user(raw_id: str) -> Response:
    user_id = path_id("id", raw_id)
    target = await _target(user_id)
    await _delete(target, Body({}))
    await audit(
        "user.delete", f"deleted user {_label(target)}", {"username": target.username}, target.id
    )
    return ok()
