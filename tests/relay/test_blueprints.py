"""The relay blueprints carry their hooks once, however many apps a process makes."""

from __future__ import annotations

from newapi.app import create_app
from newapi.config import load_settings
from newapi.errors import GatewayError
from newapi.relay import allow_any_origin, relay_blueprints


def test_two_apps_in_one_process_each_run_the_relay_hooks_once() -> None:
    settings = load_settings({})
    apps = [create_app(settings), create_app(settings)]
    for app in apps:
        for blueprint in relay_blueprints():
            assert app.after_request_funcs[blueprint.name] == [allow_any_origin]
            handlers = app.error_handler_spec[blueprint.name][None]
            assert list(handlers) == [GatewayError]
