"""The price table's admin routes (root only).

- ``POST /api/option/rest_model_ratio`` (new-api's route, sic): new-api resets ``ModelRatio`` to
  its built-in map. Here the built-in prices are the packaged table, so the route writes the
  table's ratios into ``ModelRatio``, ``CompletionRatio``, ``CacheRatio`` and
  ``CreateCacheRatio`` for every model the enabled channels list and every model of the
  first-party providers: admins then see and edit them as options. Entries for models the table
  does not price are kept (new-api would drop them with the rest of the map).
- ``POST /api/option/price_table/update``: pulls newer price data (genai-prices' format) from
  ``{"url": ...}``, else the option ``PriceTableUpdateURL``, else genai-prices' own URL; this
  process prices from it at once, and its ratios are written into the options as above, so
  every node and worker bills the new prices (options are shared; the fetched table is not).
- ``GET /api/option/price_table``: where the table came from, and for each model the enabled
  channels list, where its price comes from (``option``, ``default``, ``table`` or none).
"""

from __future__ import annotations

from collections.abc import Iterable

from quart import Blueprint, Response, request

from newapi.admin.audit import audit
from newapi.admin.respond import ok, read_body
from newapi.auth.guards import root_required
from newapi.billing.price_table import RATIO_OPTIONS, PriceTable, with_table_ratios
from newapi.billing.price_update import default_update_url, fetch_price_table
from newapi.billing.prices import price_source, table_ratios
from newapi.errors import BadRequest
from newapi.models import Channel
from newapi.models.channel import CHANNEL_ENABLED
from newapi.options import Options
from newapi.state import OPTIONS, app_state

bp = Blueprint("prices", __name__, url_prefix="/api/option")
URL_OPTION = "PriceTableUpdateURL"


@bp.post("/rest_model_ratio")
@root_required
async def reset_model_ratio() -> Response:
    table = app_state().options.prices
    if table is None:
        raise BadRequest("no price table is loaded")
    written = await _write_table(table)
    await audit("option.reset_ratio", "wrote the price table into the ratio options", {})
    return ok({"models": written}, f"wrote the price table's ratios for {written} models")


@bp.post("/price_table/update")
@root_required
async def update_price_table() -> Response:
    body = await read_body() if await request.get_data(cache=True) else None
    url = (body.str("url").strip() if body else "") or _configured_url(app_state().options.current)
    if not url.startswith(("http://", "https://")):
        raise BadRequest("url must be an http:// or https:// address")
    table = await fetch_price_table(url)
    app_state().options.use_prices(table)
    written = await _write_table(table)
    await audit("option.update_prices", f"fetched price data from {url}", {"url": url})
    info = _info(table)
    return ok({**info, "written": written}, f"prices updated from {url}")


@bp.get("/price_table")
@root_required
async def price_table() -> Response:
    opts = app_state().options.current
    rows = []
    for model in sorted(await _channel_models()):
        found = table_ratios(opts, model)
        rows.append(
            {
                "model_name": model,
                "source": price_source(opts, model),
                "table_model": found.model_id if found else None,
                "table_provider": found.provider_id if found else None,
                "table_model_ratio": found.model_ratio if found else None,
                "table_completion_ratio": found.completion_ratio if found else None,
            }
        )
    table = opts.prices
    return ok(
        {
            "table": _info(table) if table else None,
            "update_url": _configured_url(opts),
            "models": rows,
        }
    )


def _configured_url(opts: Options) -> str:
    return opts.str(URL_OPTION).strip() or default_update_url()


def _info(table: PriceTable) -> dict[str, object]:
    info = table.info
    return {
        "source": info.source,
        "version": info.version,
        "loaded_at": int(info.loaded_at.timestamp()),
        "providers": info.providers,
        "models": info.models,
    }


async def _write_table(table: PriceTable) -> int:
    """Write ``table``'s ratios into the ratio options; the number of models written."""
    store = app_state().options
    opts = store.current
    names = [*sorted(await _channel_models()), *table.first_party_models()]
    maps, written = with_table_ratios(
        {key: opts.ratio_map(key) for key in RATIO_OPTIONS}, table, names
    )
    await store.update_many(dict(maps))
    await app_state().changed(OPTIONS)
    return len(written)


async def _channel_models() -> set[str]:
    rows = await Channel.filter(status=CHANNEL_ENABLED).values_list("models", flat=True)
    return set(_names(rows))


def _names(rows: Iterable[str | None]) -> Iterable[str]:
    for models in rows:
        for name in (models or "").split(","):
            if name.strip():
                yield name.strip()
