"""new-api's ``options`` table: defaults, typed reading and validation (pure), and the store."""

from newapi.options.registry import DEFAULTS, Options, is_secret_key, validate

__all__ = ["DEFAULTS", "Options", "is_secret_key", "validate"]
