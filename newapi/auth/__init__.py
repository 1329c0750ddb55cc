"""Who is calling the admin API: sessions, access tokens, roles, passwords and rate limits."""
