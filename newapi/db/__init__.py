"""Database connections and schema migrations."""
