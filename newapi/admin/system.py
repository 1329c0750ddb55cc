"""``/api/status`` and the first-run ``/api/setup``."""

from __future__ import annotations

import time

from quart import Blueprint, Response
from tortoise.transactions import in_transaction

import newapi
from newapi.admin.respond import ok, read_body
from newapi.admin.users import check_username
from newapi.auth.passwords import MIN_LENGTH, hash_password
from newapi.auth.ratelimit import enforce
from newapi.db.connection import MAIN_CONNECTION
from newapi.errors import BadRequest
from newapi.models import Setup, User
from newapi.models.user import ROLE_ROOT, USER_ENABLED
from newapi.state import OPTIONS, app_state

bp = Blueprint("system", __name__, url_prefix="/api")

ROOT_INITIAL_QUOTA = 100_000_000
MAX_USERNAME = 12


async def is_setup_done() -> bool:
    """new-api's CheckSetup: a ``setups`` row, or a root user from an older install."""
    if await Setup.exists():
        return True
    if await User.filter(role__gte=ROLE_ROOT, deleted_at__isnull=True).exists():
        await Setup.create(version=newapi.__version__, initialized_at=int(time.time()))
        return True
    return False


@bp.get("/status")
async def status() -> Response:
    state = app_state()
    opts = state.options.current
    return ok(
        {
            "version": newapi.__version__,
            "start_time": state.started_at,
            "system_name": opts.str("SystemName"),
            "logo": opts.str("Logo"),
            "footer_html": opts.str("Footer"),
            "server_address": opts.str("ServerAddress"),
            "docs_link": opts.str("general_setting.docs_link"),
            "theme": opts.str("theme.frontend"),
            "setup": await is_setup_done(),
            "quota_per_unit": opts.float("QuotaPerUnit"),
            "display_in_currency": opts.bool("DisplayInCurrencyEnabled"),
            "quota_display_type": opts.str("general_setting.quota_display_type"),
            "usd_exchange_rate": opts.float("USDExchangeRate"),
            "price": opts.float("Price"),
            "register_enabled": opts.bool("RegisterEnabled"),
            "password_login_enabled": opts.bool("PasswordLoginEnabled"),
            "password_register_enabled": opts.bool("PasswordRegisterEnabled"),
            "email_verification": opts.bool("EmailVerificationEnabled"),
            "turnstile_check": opts.bool("TurnstileCheckEnabled"),
            "github_oauth": opts.bool("GitHubOAuthEnabled"),
            "github_client_id": opts.str("GitHubClientId"),
            "enable_drawing": opts.bool("DrawingEnabled"),
            "enable_task": opts.bool("TaskEnabled"),
            "enable_data_export": opts.bool("DataExportEnabled"),
            "data_export_default_time": opts.str("DataExportDefaultTime"),
            "demo_site_enabled": opts.bool("DemoSiteEnabled"),
            "self_use_mode_enabled": opts.bool("SelfUseModeEnabled"),
            "default_use_auto_group": opts.bool("DefaultUseAutoGroup"),
            "top_up_link": opts.str("TopUpLink"),
        }
    )


@bp.get("/setup")
async def setup_status() -> Response:
    settings = app_state().settings
    done = await is_setup_done()
    root_init = done or await User.filter(role__gte=ROLE_ROOT).exists()
    return ok({"status": done, "root_init": root_init, "database_type": settings.database.engine})


@bp.post("/setup")
async def setup() -> Response:
    state = app_state()
    await enforce(state.cache, state.settings.critical_rate_limit, "CT")
    if await is_setup_done():
        raise BadRequest("the system is already set up")
    body = await read_body()
    username = check_username(body.str("username"), MAX_USERNAME)
    password = body.str("password")
    confirm = body.str("confirmPassword", password)
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"password must be at least {MIN_LENGTH} characters")
    if password != confirm:
        raise BadRequest("the two passwords differ")
    self_use = body.bool("SelfUseModeEnabled")
    demo = body.bool("DemoSiteEnabled")
    hashed = await hash_password(password)
    async with in_transaction(MAIN_CONNECTION):
        # Setup row id 1 first: a concurrent second setup fails on its primary key.
        await Setup.create(id=1, version=newapi.__version__, initialized_at=int(time.time()))
        await User.create(
            username=username,
            password=hashed,
            display_name="Root User",
            role=ROLE_ROOT,
            status=USER_ENABLED,
            quota=ROOT_INITIAL_QUOTA,
            aff_code=None,
            created_at=int(time.time()),
        )
    await state.options.update_many({"SelfUseModeEnabled": self_use, "DemoSiteEnabled": demo})
    await state.changed(OPTIONS)
    return ok(message="setup complete")
