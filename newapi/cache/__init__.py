"""Shared cache: one interface, an in-memory backend by default, Redis when configured."""

from newapi.cache.base import Cache
from newapi.cache.memory import MemoryCache
from newapi.cache.redis import RedisCache

__all__ = ["Cache", "MemoryCache", "RedisCache"]
