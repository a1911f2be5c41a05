"""due_items.shown_from: the day a stop-and-review flag that time alone turns on is shown from (a
cycle awaiting its visits inside the run lapses on that day), in a column of its own. Until now
it was kept in the flag's ``snooze_until``, a column meant for snoozed items (a flag is never
snoozed).

The items are derived again from the records, as `bontrack due --rebuild` would (the table is
derived, not a clinical record): the code that derives them writes this column, so this is the
first migration where it can run. That also holds for a registry older than 0020, which reaches
here with no items at all (0011 and 0020 leave the deriving to this migration); moving the days
from one column to the other would fit only a table the code before this one kept up to date.

The downgrade puts each flag's day back into ``snooze_until``, where the code before it reads
it, and drops the column (SQLite's ALTER TABLE ... DROP COLUMN, 3.35 and later).

Revision ID: 0021_flag_shown_from
Revises: 0020_due_rules
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0021_flag_shown_from"
down_revision = "0020_due_rules"
branch_labels = None
depends_on = None

TABLE = "due_items"
FLAGS_ONLY = "kind = 'stop_review'"


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("shown_from", sa.Date(), nullable=True))

    import bontrack.kinds  # noqa: F401  (every table mapped)
    from bontrack.scheduling.due import rebuild

    with Session(bind=op.get_bind()) as db:
        rebuild(db)
        db.flush()


def downgrade() -> None:
    op.execute(f"UPDATE {TABLE} SET snooze_until = shown_from WHERE {FLAGS_ONLY}")
    op.drop_column(TABLE, "shown_from")
