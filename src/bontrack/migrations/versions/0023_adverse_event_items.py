"""Due items of a new kind, ``adverse_event``: the follow-up of an adverse event that is open or
serious (bontrack.scheduling.derive). No column or index changes: the items are derived again from
the records, as `bontrack due --rebuild` would (the table is derived, not a clinical record), so a
registry written before this one lists its open and serious events at once.

The downgrade deletes the items of the new kind, which the code before this one cannot show. The
worklist actions recorded on them (worklist_action records of kind ``adverse_event``) are clinical
records and stay.

Revision ID: 0023_adverse_event_items
Revises: 0022_link_revoked
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.orm import Session

revision = "0023_adverse_event_items"
down_revision = "0022_link_revoked"
branch_labels = None
depends_on = None

TABLE = "due_items"
KIND = "adverse_event"


def upgrade() -> None:
    import bontrack.kinds  # noqa: F401  (every table mapped)
    from bontrack.scheduling.due import rebuild

    with Session(bind=op.get_bind()) as db:
        rebuild(db)
        db.flush()


def downgrade() -> None:
    op.execute(f"DELETE FROM {TABLE} WHERE kind = '{KIND}'")
