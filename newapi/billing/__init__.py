"""Prices and ratios (pure), and later the quota ledger."""
