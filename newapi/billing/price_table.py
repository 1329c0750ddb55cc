"""The packaged model price table: genai-prices' data turned into new-api ratios.

`genai-prices <https://pypi.org/project/genai-prices/>`_ ships a versioned snapshot of what the
providers publish (USD per million tokens, with match clauses for the names a model goes by).
:class:`PriceTable` reads one snapshot and answers, for a model name, the ratios billing uses:

- model ratio = input $/MTok / 2 (a ratio of 1 is $2 per 1M input tokens);
- completion ratio = output price / input price;
- cache ratio = cached-read price / input price; create-cache ratio = cache-write (5 minutes)
  price / input price; the 1-hour write ratio likewise from the 1-hour price.

Tiered prices (Gemini above 200K prompt tokens, Claude's long context) give their base tier;
prices with date or time-of-day constraints (a price change on a date, DeepSeek's off-peak
hours) give the one in force at the lookup's time. A model priced by anything but input tokens
(speech by character, transcription by the hour, images per request) is not in the table, and
per-request or tool fees (web search) are not billed: new-api's ratios cannot carry them.

Where a price comes from (the precedence, applied by :mod:`newapi.billing.prices`):

1. the administrator's options (``ModelPrice``, ``ModelRatio``, ``CompletionRatio``,
   ``CacheRatio``, ``CreateCacheRatio``): an entry there always wins;
2. this table;
3. nothing: the model answers 400 ``model_price_error`` (or 37.5 in self-use mode).

The hand-typed defaults of :mod:`newapi.billing.ratios` are option defaults, so they count as
step 1; they keep only what the table does not price (embeddings, speech, transcription,
realtime audio, per-call image prices), so an admin who saves the ratio maps does not freeze a
hand-typed copy of a table price.

Names are matched as genai-prices does (lower case, its clauses), first within the provider of
the channel type when one is given, then by the provider whose name pattern matches (``claude``
is Anthropic's, ``gemini`` Google's, ``gpt-`` OpenAI's ...), then through the first-party
providers in :data:`FIRST_PARTY` order. Aggregators (OpenRouter, Together ...) are searched only
for their own channel types: their resale prices are not the model's list price.

Pure apart from :meth:`PriceTable.packaged`, which imports the snapshot the package ships. A
table is immutable but for a bounded memo of name matches; the app owns one per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from newapi.routing import channel_types as ct

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, ModelPrice, Provider

PACKAGED = "packaged"  # the source of the snapshot the installed genai-prices ships
_MEMO_LIMIT = 4096  # distinct names remembered; past it, lookups scan (names are caller-chosen)

# The providers a bare model name is searched in, most likely first.
FIRST_PARTY: tuple[str, ...] = (
    "openai",
    "anthropic",
    "google",
    "deepseek",
    "x-ai",
    "mistral",
    "moonshotai",
    "perplexity",
    "cohere",
    "zhipuai",
    "minimax",
    "meta",
    "voyageai",
)

# new-api channel type -> genai-prices provider id (Azure and Bedrock fall back to the model's
# maker inside genai-prices' data where they resell the same model).
CHANNEL_PROVIDERS: Mapping[int, str] = MappingProxyType(
    {
        ct.OPENAI: "openai",
        ct.AZURE: "azure",
        ct.ANTHROPIC: "anthropic",
        ct.ZHIPU: "zhipuai",
        ct.ZHIPU_V4: "zhipuai",
        ct.OPENROUTER: "openrouter",
        ct.GEMINI: "google",
        ct.VERTEX_AI: "google",
        ct.MOONSHOT: "moonshotai",
        ct.PERPLEXITY: "perplexity",
        ct.AWS: "aws",
        ct.COHERE: "cohere",
        35: "minimax",
        39: "cloudflare",
        ct.MISTRAL: "mistral",
        ct.DEEPSEEK: "deepseek",
        ct.XAI: "x-ai",
        ct.SORA: "openai",
        ct.CODEX: "openai",
    }
)


@dataclass(frozen=True, slots=True)
class TableRatios:
    """One model's prices from the table, as new-api ratios (``None``: the table has none)."""

    model_id: str  # genai-prices' id of the matched model
    provider_id: str
    model_ratio: float
    completion_ratio: float | None
    cache_ratio: float | None
    create_cache_ratio: float | None
    create_cache_1h_ratio: float | None
    input_usd_per_mtok: Decimal
    time_of_day: bool = False  # the price changes with the hour (off-peak discounts)


@dataclass(frozen=True, slots=True)
class TableInfo:
    """Where a table came from: ``packaged`` (with the package version) or a fetched URL."""

    source: str
    version: str
    loaded_at: datetime
    providers: int
    models: int


class PriceTable:
    """A lookup of model names in one genai-prices snapshot (see the module docstring)."""

    def __init__(self, providers: Sequence[Provider], *, source: str, version: str) -> None:
        self._providers = {provider.id: provider for provider in providers}
        self._all = list(providers)
        self._memo: dict[tuple[str | None, str], tuple[Provider, ModelInfo] | None] = {}
        # ratios per resolved price object (they live as long as the table): the conversion
        # reads genai-prices' lazy attributes, ~50 us, too slow to redo on every request
        self._converted: dict[tuple[str, str, int], TableRatios | None] = {}
        self.info = TableInfo(
            source=source,
            version=version,
            loaded_at=datetime.now(UTC),
            providers=len(providers),
            models=sum(len(provider.models) for provider in providers),
        )

    @classmethod
    def packaged(cls) -> PriceTable:
        """The snapshot shipped with the installed genai-prices (imported once, ~0.2 s)."""
        from genai_prices import __version__
        from genai_prices.data import providers

        return cls(providers, source=PACKAGED, version=__version__)

    def lookup(
        self, model: str, *, provider: str | None = None, at: datetime | None = None
    ) -> TableRatios | None:
        """``model``'s ratios at time ``at`` (now when omitted), or ``None`` when the table
        has no token price for it. ``provider`` (a genai-prices id, see
        :func:`provider_for_channel_type`) is searched first."""
        found = self._find(provider, model.lower()) if provider else None
        found = found or self._find(None, model.lower())
        if found is None:
            return None
        owner, info = found
        price = info.get_prices(at or datetime.now(UTC))
        key = (owner.id, info.id, id(price))
        if key not in self._converted:
            ratios = ratios_of(price, info.id, owner.id)
            if ratios is not None and _hourly(info):
                ratios = replace(ratios, time_of_day=True)
            self._converted[key] = ratios
        return self._converted[key]

    def first_party_models(self) -> Iterator[str]:
        """The ids of every model of the :data:`FIRST_PARTY` providers, in that order."""
        for provider_id in FIRST_PARTY:
            provider = self._providers.get(provider_id)
            for info in provider.models if provider else ():
                yield info.id

    def _find(self, scope: str | None, name: str) -> tuple[Provider, ModelInfo] | None:
        key = (scope, name)
        if key in self._memo:
            return self._memo[key]
        found = self._search(scope, name)
        if len(self._memo) < _MEMO_LIMIT:
            self._memo[key] = found
        return found

    def _search(self, scope: str | None, name: str) -> tuple[Provider, ModelInfo] | None:
        if scope is not None:
            provider = self._providers.get(scope)
            info = provider.find_model(name, all_providers=self._all) if provider else None
            return (provider, info) if provider and info else None
        candidates = [self._providers[p] for p in FIRST_PARTY if p in self._providers]
        # The provider whose own name pattern claims the model goes first (genai-prices' rule).
        claimed = [p for p in candidates if p.model_match and p.model_match.is_match(name)]
        for provider in claimed + [p for p in candidates if p not in claimed]:
            info = provider.find_model(name)
            if info is not None:
                return provider, info
        return None


RATIO_OPTIONS = ("ModelRatio", "CompletionRatio", "CacheRatio", "CreateCacheRatio")


def with_table_ratios(
    maps: Mapping[str, Mapping[str, float]],
    table: PriceTable,
    names: Iterable[str],
    at: datetime | None = None,
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """The ratio option maps (:data:`RATIO_OPTIONS`) with the table's ratios written in for
    ``names``, and the names written.

    An entry for a name the table prices is replaced; every other entry is kept. A price that
    changes with the hour (DeepSeek's off-peak discount) is not written: frozen in an option it
    would be wrong half the day, so the table keeps pricing it live.
    """
    updated = {key: dict(maps.get(key, {})) for key in RATIO_OPTIONS}
    written: list[str] = []
    for name in dict.fromkeys(names):
        ratios = table.lookup(name, at=at)
        if ratios is None or ratios.time_of_day:
            continue
        values = (
            ratios.model_ratio,
            ratios.completion_ratio,
            ratios.cache_ratio,
            ratios.create_cache_ratio,
        )
        for key, value in zip(RATIO_OPTIONS, values, strict=True):
            if value is not None:
                updated[key][name] = value
        written.append(name)
    return updated, written


def provider_for_channel_type(channel_type: int) -> str | None:
    """The genai-prices provider id of a new-api channel type, when the table has one."""
    return CHANNEL_PROVIDERS.get(channel_type)


def ratios_of(price: ModelPrice, model_id: str, provider_id: str) -> TableRatios | None:
    """new-api ratios from one resolved genai-prices price, or ``None`` when it has no
    input-token price (or charges output with free input, which ratios cannot express)."""
    input_price = _base(getattr(price, "input_mtok", None))
    if input_price is None:
        return None
    output = _base(getattr(price, "output_mtok", None))
    if input_price == 0:
        if output:
            return None
        return TableRatios(model_id, provider_id, 0.0, 1.0, None, None, None, input_price)
    return TableRatios(
        model_id=model_id,
        provider_id=provider_id,
        model_ratio=float(input_price / 2),
        completion_ratio=_over(output, input_price),
        cache_ratio=_over(_base(getattr(price, "cache_read_mtok", None)), input_price),
        create_cache_ratio=_over(_base(getattr(price, "cache_write_mtok", None)), input_price),
        create_cache_1h_ratio=_over(
            _base(getattr(price, "cache_write_1h_mtok", None)), input_price
        ),
        input_usd_per_mtok=input_price,
    )


def _hourly(info: ModelInfo) -> bool:
    prices = info.prices if isinstance(info.prices, list) else ()
    return any(type(price.constraint).__name__ == "TimeOfDateConstraint" for price in prices)


def _base(value: object) -> Decimal | None:
    """A price in $/MTok: a plain one, or the base tier of a tiered one."""
    if isinstance(value, Decimal):
        return value
    base = getattr(value, "base", None)  # TieredPrices
    return base if isinstance(base, Decimal) else None


def _over(price: Decimal | None, input_price: Decimal) -> float | None:
    return None if price is None else float(price / input_price)
