"""Limit a transaction to one clinic in the database itself (PostgreSQL row-level security).

The services already return only the acting user's clinic; on PostgreSQL the database enforces it
too (migration 0008's policies), so a query that forgets the filter still sees one clinic. The
setting lasts until the transaction ends. SQLite has no row-level security: nothing is done there.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

SETTING = "bontrack.clinic_id"


def limit_to_clinic(db: Session, clinic_id: str | None) -> None:
    """From now until the transaction ends, ``db`` sees only ``clinic_id``'s rows (None: no limit)."""
    if clinic_id is None or db.get_bind().dialect.name != "postgresql":
        return
    db.execute(select(func.set_config(SETTING, clinic_id, True)))
