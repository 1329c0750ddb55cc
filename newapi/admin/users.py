"""``/api/user``: registration, login and logout, and what a user does to their own account."""

from __future__ import annotations

import secrets
import string
import time
import unicodedata
from typing import Any

from quart import Blueprint, Response, session
from tortoise.expressions import Q

from newapi.admin.respond import ok, read_body, read_form_or_body
from newapi.auth.guards import current_user, user_required
from newapi.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, verify_password
from newapi.auth.ratelimit import enforce
from newapi.auth.sessions import EPOCH_FIELD, end_sessions, session_is_current, start_session
from newapi.errors import BadRequest, Forbidden
from newapi.models import Token, User
from newapi.models.user import ROLE_COMMON, USER_ENABLED
from newapi.state import app_state
from newapi.store.tokens import new_key

bp = Blueprint("users", __name__, url_prefix="/api/user")

MAX_USERNAME = 20
# Cc control, Cf format (zero-width, bidi), Cs surrogate, Co private use, Cn unassigned,
# Zl/Zp line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_ALNUM = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def user_json(user: User, *, self_view: bool = False) -> dict[str, Any]:
    """new-api's User JSON: the password is always blank and the access token never shown."""
    data: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "password": "",
        "display_name": user.display_name or "",
        "role": user.role or 0,
        "status": user.status or 0,
        "email": user.email or "",
        "github_id": user.github_id or "",
        "discord_id": user.discord_id or "",
        "oidc_id": user.oidc_id or "",
        "wechat_id": user.wechat_id or "",
        "telegram_id": user.telegram_id or "",
        "linux_do_id": user.linux_do_id or "",
        "quota": user.quota or 0,
        "used_quota": user.used_quota or 0,
        "request_count": user.request_count or 0,
        "group": user.group or "default",
        "aff_code": user.aff_code or "",
        "aff_count": user.aff_count or 0,
        "aff_quota": user.aff_quota or 0,
        "aff_history_quota": user.aff_history or 0,
        "inviter_id": user.inviter_id or 0,
        "setting": user.setting or "",
        "remark": "" if self_view else (user.remark or ""),
        "stripe_customer": user.stripe_customer or "",
        "created_at": user.created_at or 0,
        "last_login_at": user.last_login_at or 0,
        "DeletedAt": user.deleted_at.isoformat() if user.deleted_at else None,
    }
    return data


def check_username(username: str, max_len: int = MAX_USERNAME) -> str:
    """The username without surrounding spaces; refused when it hides characters.

    Control and format characters (NUL, tabs, newlines, zero-width spaces and joiners, U+FEFF,
    bidi overrides) make two names look the same in the console and in logs.
    """
    hidden = next((c for c in username if unicodedata.category(c) in _HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise BadRequest(
            f"username must not contain control or invisible characters (found U+{ord(hidden):04X})"
        )
    username = username.strip()
    if not username or len(username) > max_len:
        raise BadRequest(f"username must be 1 to {max_len} characters")
    return username


def check_password(password: str) -> str:
    if not MIN_LENGTH <= len(password.encode()) <= MAX_LENGTH:
        raise BadRequest(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    return password


async def new_aff_code() -> str:
    while True:
        code = random_string(4)
        if not await User.filter(aff_code=code).exists():
            return code


@bp.post("/register")
async def register() -> Response:
    state = app_state()
    await enforce(state.cache, state.settings.critical_rate_limit, "CT")
    opts = state.options.current
    if not opts.bool("RegisterEnabled") or not opts.bool("PasswordRegisterEnabled"):
        raise BadRequest("registration is closed; ask an administrator for an account")
    body = await read_body()
    username = check_username(body.str("username"))
    password = check_password(body.str("password"))
    if await User.filter(username=username).exists():
        raise BadRequest("this username is taken")
    inviter = None
    aff = body.str("aff_code").strip()
    if aff:
        inviter = await User.filter(aff_code=aff, deleted_at__isnull=True).first()
    user = await User.create(
        username=username,
        password=await hash_password(password),
        display_name=username,
        role=ROLE_COMMON,
        status=USER_ENABLED,
        email=body.str("email").strip(),
        quota=opts.int("QuotaForNewUser") + (opts.int("QuotaForInvitee") if inviter else 0),
        aff_code=await new_aff_code(),
        inviter_id=inviter.id if inviter else 0,
        created_at=int(time.time()),
    )
    if state.settings.generate_default_token:
        now = int(time.time())
        await Token.create(
            user_id=user.id,
            key=new_key(),
            name=f"{username}'s default key",
            status=1,
            created_time=now,
            accessed_time=now,
            unlimited_quota=True,
        )
    return ok(message="registered")


@bp.post("/login")
async def login() -> Response:
    state = app_state()
    await enforce(state.cache, state.settings.critical_rate_limit, "CT")
    if not state.options.current.bool("PasswordLoginEnabled"):
        raise BadRequest("password login is disabled")
    body = await read_form_or_body()
    name = body.str("username").strip()
    password = body.str("password")
    if not name or not password:
        raise BadRequest("username and password are required")
    user = await User.filter(Q(username=name) | Q(email=name), deleted_at__isnull=True).first()
    # Verify even for unknown users would leak nothing more; one message for both cases.
    if user is None or not await verify_password(password, user.password):
        raise BadRequest("wrong username or password, or the user is disabled")
    if user.status != USER_ENABLED:
        raise BadRequest("wrong username or password, or the user is disabled")
    fields = {"username": user.username, "role": user.role, "status": user.status}
    await start_session(user.id, {**fields, "group": user.group})
    await User.filter(id=user.id).update(last_login_at=int(time.time()))
    return ok(
        {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name or "",
            "role": user.role,
            "status": user.status,
            "group": user.group or "default",
        }
    )


@bp.get("/logout")
async def logout() -> Response:
    """Ends every session of the user, on every node (a stale cookie ends only itself)."""
    user_id = session.get("id")
    if isinstance(user_id, int) and await session_is_current(user_id):
        await end_sessions(user_id)
    session.clear()
    return ok()


@bp.get("/groups")
async def groups() -> Response:
    opts = app_state().options.current
    ratios = opts.ratio_map("GroupRatio")
    usable = opts.json("UserUsableGroups") or {}
    return ok({name: {"ratio": ratios.get(name, 1), "desc": desc} for name, desc in usable.items()})


@bp.get("/self")
@user_required
async def get_self() -> Response:
    return ok(user_json(current_user(), self_view=True))


@bp.put("/self")
@user_required
async def update_self() -> Response:
    user = current_user()
    body = await read_body()
    changes: dict[str, Any] = {}
    if "display_name" in body:
        changes["display_name"] = body.str("display_name", max_len=191).strip() or user.username
    if "password" in body and body.str("password"):
        if not await verify_password(body.str("original_password"), user.password):
            raise BadRequest("the original password is wrong")
        changes["password"] = await hash_password(check_password(body.str("password")))
    if changes:
        await User.filter(id=user.id).update(**changes)
        await app_state().entities.invalidate(user_ids=(user.id,))
    if "password" in changes:
        # Every other session ends; this one carries on under the new epoch.
        epoch = await end_sessions(user.id)
        if session.get("id") == user.id:
            session[EPOCH_FIELD] = epoch
    return ok()


@bp.get("/token")
@user_required
async def generate_access_token() -> Response:
    """A new access token for ``Authorization: <token>``; the previous one stops working."""
    user = current_user()
    token = random_string(32)
    await User.filter(id=user.id).update(access_token=token)
    return ok(token)


@bp.get("/aff")
@user_required
async def aff_code() -> Response:
    user = current_user()
    if not user.aff_code:
        user.aff_code = await new_aff_code()
        await User.filter(id=user.id).update(aff_code=user.aff_code)
    return ok(user.aff_code)


def forbid_self_escalation(actor: User, target_role: int) -> None:
    if target_role >= (actor.role or 0):
        raise Forbidden("you can only manage users with a lower role than yours")
