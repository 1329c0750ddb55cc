"""Outbound adaptors: how to call each kind of upstream. One registry: :mod:`.registry`."""
