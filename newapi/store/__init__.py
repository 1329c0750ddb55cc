"""Queries: the only place that talks to Tortoise for the admin API and the relay."""
