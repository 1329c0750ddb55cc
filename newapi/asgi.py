"""The ASGI app for Hypercorn workers (``newapi.asgi:app``), configured from the environment."""

from newapi.app import create_app
from newapi.config import settings_from_environ
from newapi.log_config import configure_logging

_settings = settings_from_environ()
configure_logging(_settings)  # a spawned worker starts with no logging set up
app = create_app(_settings, hypercorn_worker=True)
