"""The admin API's envelope, pagination and request-body reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from quart import Response, request

from newapi.errors import BadRequest, PayloadTooLarge

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status=status, content_type="application/json")


def ok(data: Any = None, message: str = "") -> Response:
    body: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        body["data"] = data
    return json_response(body)


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int  # 1-based
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_request() -> PageRequest:
    """``p`` (1-based, values < 1 become 1) and ``page_size`` (aliases ``ps``, ``size``)."""
    args = request.args
    page = _int_arg(args.get("p"), 1)
    size = _int_arg(args.get("page_size") or args.get("ps") or args.get("size"), DEFAULT_PAGE_SIZE)
    if size < 1:
        size = DEFAULT_PAGE_SIZE
    return PageRequest(max(page, 1), min(size, MAX_PAGE_SIZE))


def page(items: list[Any], total: int, req: PageRequest, **extra: Any) -> Response:
    return ok({"page": req.page, "page_size": req.size, "total": total, "items": items, **extra})


def _int_arg(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"query parameter must be an integer, got {raw!r}") from None


def int_arg(name: str, default: int = 0) -> int:
    try:
        return _int_arg(request.args.get(name), default)
    except BadRequest:
        raise BadRequest(f"query parameter {name} must be an integer") from None


class Body:
    """A JSON object from the request, with typed getters that fail with a clear message."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def str(self, name: str, default: str = "", *, max_len: int | None = None) -> str:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string")
        if max_len is not None and len(value) > max_len:
            raise BadRequest(f"{name} must be at most {max_len} characters")
        return value

    def int(self, name: str, default: int = 0) -> int:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise BadRequest(f"{name} must be an integer")
        if isinstance(value, float) and not value.is_integer():
            raise BadRequest(f"{name} must be an integer")
        if abs(value) > 2**62:
            raise BadRequest(f"{name} is out of range")
        return int(value)

    def float(self, name: str, default: float = 0.0) -> float:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"{name} must be a number")
        return float(value)

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        return value

    def int_list(self, name: str) -> list[int]:
        value = self.data.get(name)
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise BadRequest(f"{name} must be a list of integers")
        return value


async def read_body() -> Body:
    """The request's JSON object; anything else is a :class:`BadRequest`."""
    length = request.content_length
    limit = request.max_content_length
    if length is not None and limit is not None and length > limit:
        raise PayloadTooLarge("request body is too large")
    raw = await request.get_data(cache=True)
    if not raw:
        raise BadRequest("request body must be a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return Body(data)
