"""Route guards for the admin API (new-api: UserAuth, AdminAuth, RootAuth).

A caller proves who they are with the session cookie or with ``Authorization: <access token>``;
either way the ``New-Api-User`` header must carry the same user id. The user row is read
fresh, so a disabled user or a demoted admin loses access at once (new-api trusts the role
cached in the cookie until it expires).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from quart import g, request, session

from newapi.auth.sessions import session_is_current
from newapi.errors import Forbidden, Unauthorized
from newapi.models.user import ROLE_ADMIN, ROLE_COMMON, ROLE_ROOT, USER_ENABLED, User

P = ParamSpec("P")
R = TypeVar("R")


async def authenticate() -> User:
    session_id = session.get("id")
    if session_id is not None:
        if not isinstance(session_id, int) or not await session_is_current(session_id):
            session.clear()
            raise Unauthorized("not logged in: this session has ended")
        user = await User.filter(id=session_id, deleted_at__isnull=True).first()
    else:
        header = request.headers.get("Authorization", "").strip()
        token = header.removeprefix("Bearer ").strip()
        if not token:
            raise Unauthorized("not logged in and no access token given")
        user = await User.filter(access_token=token, deleted_at__isnull=True).first()
        if user is None:
            raise Unauthorized("invalid access token")
    if user is None:
        session.clear()
        raise Unauthorized("not logged in")
    claimed = request.headers.get("New-Api-User", "").strip()
    if not claimed:
        raise Unauthorized("the New-Api-User header is missing")
    if claimed != str(user.id):
        raise Unauthorized("the New-Api-User header does not match the logged-in user")
    if user.status != USER_ENABLED:
        raise Forbidden("this user is disabled")
    return user


def requires(role: int) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    def decorator(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            user = await authenticate()
            if (user.role or 0) < role:
                raise Forbidden("permission denied: this needs a higher role")
            g.user = user
            return await view(*args, **kwargs)

        return guarded

    return decorator


user_required = requires(ROLE_COMMON)
admin_required = requires(ROLE_ADMIN)
root_required = requires(ROLE_ROOT)


def current_user() -> User:
    return g.user
