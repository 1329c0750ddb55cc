"""The admin API's envelope, pagination and request-body reading."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs

import orjson
from quart import Response, request

from newapi import params
from newapi.errors import BadRequest, PayloadTooLarge
from newapi.params import INT64, NON_NEGATIVE, POSITIVE, Bounds

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
# Pages past this would put the row offset beyond what a database accepts.
_PAGE = Bounds(params.INT64_MIN, 2**31 - 1)


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
    """``p`` (1-based, values < 1 become 1) and ``page_size`` (aliases ``ps``, ``size``).

    A ``page_size`` of 0 or none means the default; above the maximum it is the maximum.
    """
    args = request.args
    page = _query_int("p", args.get("p"), 1, _PAGE)
    size_name = next((n for n in ("page_size", "ps", "size") if args.get(n)), "page_size")
    size = _query_int(size_name, args.get(size_name), 0, NON_NEGATIVE) or DEFAULT_PAGE_SIZE
    return PageRequest(max(page, 1), min(size, MAX_PAGE_SIZE))


def page(items: list[Any], total: int, req: PageRequest, **extra: Any) -> Response:
    return ok({"page": req.page, "page_size": req.size, "total": total, "items": items, **extra})


def _query_int(name: str, raw: str | None, default: int, bounds: Bounds) -> int:
    if raw is None or not raw.strip():
        return default
    return params.text_int(f"query parameter {name}", raw, bounds)


def int_arg(name: str, default: int = 0, bounds: Bounds = INT64) -> int:
    """The integer query parameter ``name``; ``default`` when absent or blank."""
    return _query_int(name, request.args.get(name), default, bounds)


def path_id(name: str, raw: str) -> int:
    """A positive id from the URL path (``/api/token/<id>``)."""
    return params.text_int(name, raw, POSITIVE)


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

    def int(self, name: str, default: int = 0, bounds: Bounds = INT64) -> int:
        """The integer ``name`` (a JSON integer within ``bounds``); ``default`` when absent."""
        value = self.data.get(name)
        if value is None:
            return default
        return params.json_int(name, value, bounds)

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

    def int_list(self, name: str, bounds: Bounds = INT64) -> list[int]:
        value = self.data.get(name)
        if not isinstance(value, list):
            raise BadRequest(f"{name} must be a list of integers")
        return [params.json_int(f"{name}[{i}]", v, bounds) for i, v in enumerate(value)]


async def read_body() -> Body:
    """The request's JSON object; anything else is a :class:`BadRequest`."""
    length = request.content_length
    limit = request.max_content_length
    if length is not None and limit is not None and length > limit:
        raise PayloadTooLarge("request body is too large")
    raw = await request.get_data(cache=True)
    if not raw:
        raise BadRequest("request body must be a JSON object")
    data = _parse_json(raw)
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return Body(data)


async def read_form_or_body() -> Body:
    """A JSON object whatever the Content-Type (new-api decodes JSON regardless, and
    ``curl -d '{...}'`` labels it a form), else a form's fields, else a :class:`BadRequest`."""
    if request.mimetype == "multipart/form-data":
        form = await request.form
        return Body({name: form.get(name) for name in form})
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = await request.get_data(cache=True)
        if not raw.lstrip().startswith(b"{"):
            fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            return Body({name: values[-1] for name, values in fields.items()})
    return await read_body()


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses a number it cannot hold as a double (a 5,000-digit integer, 1e400); the
    # standard parser reads those too, so the field's own check can name the field.
    try:
        return json.loads(raw, parse_int=params.json_number, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
