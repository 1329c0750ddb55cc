"""newapi: an LLM gateway compatible with new-api's database and admin API."""

__version__ = "0.1.0"
