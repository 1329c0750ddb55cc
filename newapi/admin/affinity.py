"""``/api/option/channel_affinity_cache``: the channel-affinity entries, counted and cleared
(new-api's routes, root only as its other option routes)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from newapi.admin.audit import audit
from newapi.admin.respond import ok
from newapi.auth.guards import root_required
from newapi.errors import BadRequest
from newapi.relay.affinity import settings_of
from newapi.routing.affinity import rule_prefix
from newapi.state import app_state

bp = Blueprint("channel_affinity", __name__, url_prefix="/api")


@bp.get("/option/channel_affinity_cache")
@root_required
async def cache_stats() -> Response:
    """Entries in the store: the total, per rule name, and those of no current rule."""
    state = app_state()
    return ok(await state.affinity.stats(settings_of(state.options.current)))


@bp.delete("/option/channel_affinity_cache")
@root_required
async def clear_cache() -> Response:
    """``?all=true`` drops every entry; ``?rule_name=`` those of one rule."""
    state = app_state()
    if request.args.get("all", "").strip() == "true":
        deleted = await state.affinity.clear()
        await audit("option.clear_affinity_cache", "cleared the channel affinity cache", {})
        return ok({"deleted": deleted})
    name = request.args.get("rule_name", "").strip()
    if not name:
        raise BadRequest("missing parameter rule_name, or all=true to clear every entry")
    rule = next((r for r in settings_of(state.options.current).rules if r.name == name), None)
    if rule is None:
        raise BadRequest(f"unknown rule name {name!r}")
    if not rule.include_rule_name:
        raise BadRequest("this rule's entries do not carry its name (include_rule_name is off)")
    deleted = await state.affinity.clear(rule_prefix(name))
    await audit(
        "option.clear_affinity_cache",
        f"cleared the channel affinity cache of rule {name}",
        {"rule_name": name},
    )
    return ok({"deleted": deleted})
