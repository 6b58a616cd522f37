"""Session records: schema, queries and the background writer (no Qt)."""
