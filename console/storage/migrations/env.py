"""Alembic environment: runs on the connection that :mod:`console.storage.migrate` hands over.

There is no alembic.ini: the migrations always run programmatically against an engine the console
already built (with its SQLite pragmas), so the URL never has to be written anywhere else.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from console.storage.schema import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the migrations through console.storage.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
