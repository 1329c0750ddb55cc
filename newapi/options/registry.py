"""Option defaults, kinds and validation (pure: no I/O).

Every value is stored as a string, as new-api does: booleans "true"/"false", numbers in decimal,
maps as JSON. :func:`validate` normalises what an admin sends and refuses what the gateway
could not use, so a bad ``PUT /api/option/`` never reaches the database.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from newapi.billing import ratios
from newapi.errors import BadRequest
from newapi.params import plain_int
from newapi.routing.affinity import OPTION_DEFAULTS as AFFINITY_DEFAULTS
from newapi.routing.affinity import PREFIX as AFFINITY

T = TypeVar("T")

if TYPE_CHECKING:
    from newapi.billing.price_table import PriceTable


class Kind(Enum):
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    RATIO_MAP = "ratio_map"  # JSON object of non-negative numbers
    JSON_OBJECT = "json_object"
    JSON = "json"
    JSON_ARRAY = "json_array"
    LIMIT_PAIRS = "limit_pairs"  # JSON object of [total, success], whole numbers >= 0
    STATUS_RANGES = "status_ranges"  # "401,500-599"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_DISABLE_KEYWORDS = "\n".join(
    [
        "Your credit balance is too low",
        "This organization has been disabled.",
        "You exceeded your current quota",
        "Permission denied",
        "The security token included in the request is invalid",
        "Operation not allowed",
        "Your account is not authorized",
    ]
)

_EMAIL_DOMAINS = ",".join(
    [
        "gmail.com",
        "163.com",
        "126.com",
        "qq.com",
        "outlook.com",
        "hotmail.com",
        "icloud.com",
        "yahoo.com",
        "foxmail.com",
    ]
)

# key -> (kind, default string)
_SPEC: dict[str, tuple[Kind, str]] = {
    # site
    "SystemName": (Kind.TEXT, "New API"),
    "Logo": (Kind.TEXT, ""),
    "Footer": (Kind.TEXT, ""),
    "Notice": (Kind.TEXT, ""),
    "About": (Kind.TEXT, ""),
    "HomePageContent": (Kind.TEXT, ""),
    "ServerAddress": (Kind.TEXT, ""),
    "TopUpLink": (Kind.TEXT, ""),
    "theme.frontend": (Kind.TEXT, "default"),
    "general_setting.docs_link": (Kind.TEXT, ""),
    "general_setting.quota_display_type": (Kind.TEXT, "USD"),
    # registration and login
    "RegisterEnabled": (Kind.BOOL, "true"),
    "PasswordRegisterEnabled": (Kind.BOOL, "true"),
    "PasswordLoginEnabled": (Kind.BOOL, "true"),
    "EmailVerificationEnabled": (Kind.BOOL, "false"),
    "TurnstileCheckEnabled": (Kind.BOOL, "false"),
    "GitHubOAuthEnabled": (Kind.BOOL, "false"),
    "GitHubClientId": (Kind.TEXT, ""),
    "GitHubClientSecret": (Kind.TEXT, ""),
    "SMTPToken": (Kind.TEXT, ""),
    "TurnstileSiteKey": (Kind.TEXT, ""),
    "TurnstileSecretKey": (Kind.TEXT, ""),
    "LinuxDOOAuthEnabled": (Kind.BOOL, "false"),
    "LinuxDOClientId": (Kind.TEXT, ""),
    "LinuxDOClientSecret": (Kind.TEXT, ""),
    "WeChatAuthEnabled": (Kind.BOOL, "false"),
    "WeChatServerAddress": (Kind.TEXT, ""),
    "WeChatServerToken": (Kind.TEXT, ""),
    "TelegramOAuthEnabled": (Kind.BOOL, "false"),
    "TelegramBotToken": (Kind.TEXT, ""),
    "TelegramBotName": (Kind.TEXT, ""),
    "EmailDomainRestrictionEnabled": (Kind.BOOL, "false"),
    "EmailDomainWhitelist": (Kind.TEXT, _EMAIL_DOMAINS),
    "SelfUseModeEnabled": (Kind.BOOL, "false"),
    "DemoSiteEnabled": (Kind.BOOL, "false"),
    # quota
    "QuotaPerUnit": (Kind.FLOAT, str(ratios.QUOTA_PER_UNIT)),
    "QuotaForNewUser": (Kind.INT, "0"),
    "QuotaForInviter": (Kind.INT, "0"),
    "QuotaForInvitee": (Kind.INT, "0"),
    "PreConsumedQuota": (Kind.INT, "500"),
    "QuotaRemindThreshold": (Kind.INT, "1000"),
    "DisplayInCurrencyEnabled": (Kind.BOOL, "true"),
    "DisplayTokenStatEnabled": (Kind.BOOL, "true"),
    "USDExchangeRate": (Kind.FLOAT, "7.3"),
    "Price": (Kind.FLOAT, "7.3"),
    "MinTopUp": (Kind.INT, "1"),
    "token_setting.max_user_tokens": (Kind.INT, "1000"),
    # logs and dashboard
    "LogConsumeEnabled": (Kind.BOOL, "true"),
    "DataExportEnabled": (Kind.BOOL, "true"),
    "DataExportInterval": (Kind.INT, "5"),
    "DataExportDefaultTime": (Kind.TEXT, "hour"),
    # ratios and prices
    "ModelRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_MODEL_RATIO)),
    "CompletionRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_COMPLETION_RATIO)),
    "CacheRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_CACHE_RATIO)),
    "CreateCacheRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_CREATE_CACHE_RATIO)),
    "ModelPrice": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_MODEL_PRICE)),
    "ImageRatio": (Kind.RATIO_MAP, "{}"),
    "AudioRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_AUDIO_RATIO)),
    "AudioCompletionRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_AUDIO_COMPLETION_RATIO)),
    "GroupRatio": (Kind.RATIO_MAP, _dump(ratios.DEFAULT_GROUP_RATIO)),
    "GroupGroupRatio": (Kind.JSON_OBJECT, "{}"),
    "UserUsableGroups": (Kind.JSON_OBJECT, _dump({"default": "默认分组", "vip": "vip分组"})),
    "AutoGroups": (Kind.JSON, "[]"),
    "DefaultUseAutoGroup": (Kind.BOOL, "false"),
    "ExposeRatioEnabled": (Kind.BOOL, "false"),
    # where POST /api/option/price_table/update pulls price data from ("": genai-prices' own)
    "PriceTableUpdateURL": (Kind.TEXT, ""),
    # relay and channel health
    "RetryTimes": (Kind.INT, "0"),
    "AutomaticDisableChannelEnabled": (Kind.BOOL, "false"),
    "AutomaticEnableChannelEnabled": (Kind.BOOL, "false"),
    "ChannelDisableThreshold": (Kind.FLOAT, "5"),
    # scheduled channel tests (the env CHANNEL_TEST_FREQUENCY overrides both)
    "monitor_setting.auto_test_channel_enabled": (Kind.BOOL, "false"),
    "monitor_setting.auto_test_channel_minutes": (Kind.FLOAT, "10"),
    "AutomaticDisableKeywords": (Kind.TEXT, _DISABLE_KEYWORDS),
    "AutomaticDisableStatusCodes": (Kind.STATUS_RANGES, "401"),
    "AutomaticRetryStatusCodes": (
        Kind.STATUS_RANGES,
        "100-199,300-399,401-407,409-499,500-503,505-523,525-599",
    ),
    # rate limits
    "ModelRequestRateLimitEnabled": (Kind.BOOL, "false"),
    "ModelRequestRateLimitCount": (Kind.INT, "0"),
    "ModelRequestRateLimitSuccessCount": (Kind.INT, "1000"),
    "ModelRequestRateLimitDurationMinutes": (Kind.INT, "1"),
    "ModelRequestRateLimitGroup": (Kind.LIMIT_PAIRS, "{}"),
    "CheckSensitiveEnabled": (Kind.BOOL, "false"),
    "DrawingEnabled": (Kind.BOOL, "true"),
    "TaskEnabled": (Kind.BOOL, "true"),
    # realtime websockets (seconds; 0 turns the limit off)
    "RealtimeIdleTimeoutSeconds": (Kind.FLOAT, "300"),
    "RealtimeMaxSessionSeconds": (Kind.FLOAT, "3600"),
    # channel affinity for prompt caches (newapi.routing.affinity)
    AFFINITY + "enabled": (Kind.BOOL, AFFINITY_DEFAULTS[AFFINITY + "enabled"]),
    AFFINITY + "switch_on_success": (Kind.BOOL, AFFINITY_DEFAULTS[AFFINITY + "switch_on_success"]),
    AFFINITY + "keep_on_channel_disabled": (
        Kind.BOOL,
        AFFINITY_DEFAULTS[AFFINITY + "keep_on_channel_disabled"],
    ),
    AFFINITY + "max_entries": (Kind.INT, AFFINITY_DEFAULTS[AFFINITY + "max_entries"]),
    AFFINITY + "default_ttl_seconds": (
        Kind.INT,
        AFFINITY_DEFAULTS[AFFINITY + "default_ttl_seconds"],
    ),
    AFFINITY + "rules": (Kind.JSON_ARRAY, AFFINITY_DEFAULTS[AFFINITY + "rules"]),
}

DEFAULTS: dict[str, str] = {key: default for key, (_, default) in _SPEC.items()}
_SECRET_SUFFIXES = ("Token", "Secret", "Key", "secret", "api_key")


def is_secret_key(key: str) -> bool:
    """Options never returned by ``GET /api/option/`` (new-api's rule)."""
    return key.endswith(_SECRET_SUFFIXES)


def kind_of(key: str) -> Kind | None:
    spec = _SPEC.get(key)
    return spec[0] if spec else None


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return _dump(value)
    raise BadRequest("option value must be a string, number, boolean or JSON")


def _format_float(value: float) -> str:
    """Like Go's FormatFloat(v, 'f', -1): 3.0 -> "3", 1e-07 -> "0.0000001", never exponents."""
    if not math.isfinite(value):
        raise BadRequest("option value must be a finite number")
    if value.is_integer():
        return str(int(value))
    # repr() is the shortest text that reads back as the same float; Decimal drops the exponent.
    return format(Decimal(repr(value)), "f")


def _parse_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(part)
        lo, hi = int(low), int(high or low)
        if not 100 <= lo <= hi <= 599:
            raise ValueError(part)
        ranges.append((lo, hi))
    return ranges


def validate(key: str, value: Any) -> str:
    """The string to store for ``key``, or :class:`BadRequest` saying what is wrong."""
    if not isinstance(key, str) or not key or len(key) > 191:
        raise BadRequest("option key must be a non-empty string")
    text = _stringify(value)
    kind = kind_of(key)
    try:
        _check(kind, text)
    except (ValueError, TypeError) as exc:
        raise BadRequest(
            f"invalid value for {key}: {kind.value if kind else 'value'} expected"
            + (f" ({exc})" if str(exc) else "")
        ) from None
    if kind is Kind.BOOL:
        return text.lower()
    return text


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: Go nodes reading the same table would fail on them.
    raise ValueError(f"{name} is not a JSON value")


def _check(kind: Kind | None, text: str) -> None:
    if kind is None or kind is Kind.TEXT:
        return
    if kind is Kind.BOOL:
        if text.lower() not in ("true", "false"):
            raise ValueError("true or false")
    elif kind is Kind.INT:
        # Python's int() also takes " 5", "1_000" and "٣", which Go nodes sharing the table
        # refuse; and a value past 64 bits would break every later read of the option.
        if not _INTEGER.fullmatch(text) or plain_int(text) is None:
            raise ValueError("a whole number within 64 bits")
    elif kind is Kind.FLOAT:
        if not _DECIMAL.fullmatch(text) or not math.isfinite(float(text)):
            raise ValueError("a finite decimal number")
    elif kind is Kind.STATUS_RANGES:
        _parse_ranges(text)
    else:
        parsed = json.loads(text, parse_constant=_refuse_constant)
        if kind in (Kind.RATIO_MAP, Kind.JSON_OBJECT, Kind.LIMIT_PAIRS) and not isinstance(
            parsed, dict
        ):
            raise ValueError("a JSON object")
        if kind is Kind.JSON_ARRAY and not isinstance(parsed, list):
            raise ValueError("a JSON array")
        if kind is Kind.LIMIT_PAIRS:
            _check_limit_pairs(parsed)
        if kind is Kind.RATIO_MAP:
            for name, ratio in parsed.items():
                if (
                    isinstance(ratio, bool)
                    or not isinstance(ratio, int | float)
                    or not math.isfinite(ratio)
                    or ratio < 0
                ):
                    raise ValueError(f"{name} must map to a non-negative number")


_INT32_MAX = 2**31 - 1  # what Go nodes sharing the table can hold


def _check_limit_pairs(parsed: dict[str, Any]) -> None:
    for name, pair in parsed.items():
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= _INT32_MAX
                for n in pair
            )
        ):
            raise ValueError(f"{name} must map to [total, success], whole numbers >= 0")


_JSON_KINDS = (Kind.RATIO_MAP, Kind.JSON_OBJECT, Kind.JSON, Kind.JSON_ARRAY, Kind.LIMIT_PAIRS)


class Options:
    """An immutable snapshot of every option, with typed readers.

    ``prices`` is the packaged model price table billing falls back on for models the ratio
    options do not list (:mod:`newapi.billing.price_table`); ``None`` prices from the options
    alone.
    """

    def __init__(self, values: Mapping[str, str], prices: PriceTable | None = None) -> None:
        self._values = {**DEFAULTS, **values}
        self._stored = frozenset(values)
        self._ranges: dict[str, list[tuple[int, int]]] = {}  # parsed once per snapshot
        self._parsed: dict[str, Any] = {}
        self.prices = prices

    def is_stored(self, key: str) -> bool:
        """Whether ``key`` was saved (by an admin or setup) rather than left at its default."""
        return key in self._stored

    def raw(self) -> dict[str, str]:
        return dict(self._values)

    def str(self, key: str) -> str:
        return self._values.get(key, "")

    def bool(self, key: str) -> bool:
        return self._values.get(key, "").lower() == "true"

    def int(self, key: str) -> int:
        try:
            return int(float(self._values.get(key, "0")))
        except ValueError:
            return int(float(DEFAULTS.get(key, "0")))

    def float(self, key: str) -> float:
        try:
            return float(self._values.get(key, "0"))
        except ValueError:
            return float(DEFAULTS.get(key, "0"))

    def json(self, key: str) -> Any:
        return self._json.get(key)

    def ratio_map(self, key: str) -> dict[str, float]:
        value = self._json.get(key)
        return value if isinstance(value, dict) else {}

    def status_ranges(self, key: str) -> list[tuple[int, int]]:
        """Read on every relayed request: parsed once per snapshot."""
        ranges = self._ranges.get(key)
        if ranges is None:
            try:
                ranges = _parse_ranges(self._values.get(key, ""))
            except ValueError:
                ranges = _parse_ranges(DEFAULTS.get(key, ""))
            self._ranges[key] = ranges
        return ranges

    def parsed(self, name: str, build: Callable[[Options], T]) -> T:
        """``build(self)``, made once per snapshot and kept under ``name``: settings read on
        every request are parsed once, not per request."""
        if name not in self._parsed:
            self._parsed[name] = build(self)
        return self._parsed[name]

    @cached_property
    def _json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        for key, (kind, default) in _SPEC.items():
            if kind in _JSON_KINDS:
                try:
                    parsed[key] = json.loads(self._values.get(key, default))
                except ValueError:
                    parsed[key] = json.loads(default)
        return parsed
