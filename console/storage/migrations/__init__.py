"""Alembic migrations of the session record; run through :mod:`console.storage.migrate`."""
