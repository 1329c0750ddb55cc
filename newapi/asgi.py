"""The ASGI app for Hypercorn workers (``newapi.asgi:app``), configured from the environment."""

from newapi.app import create_app

app = create_app()
