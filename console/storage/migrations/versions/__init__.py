"""Alembic revision scripts, oldest first by their number."""
