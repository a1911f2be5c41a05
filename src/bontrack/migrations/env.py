"""Alembic environment: bontrack passes the open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

import bontrack.kinds  # noqa: F401  (registers every table on Base.metadata)
from bontrack.storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bontrack migrations run through `bontrack db upgrade`, not the alembic command")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
