"""due_items.shown_from: the day a stop-and-review flag that time alone turns on is shown from (a
cycle awaiting its visits inside the run lapses on that day), in a column of its own. Until now
it was kept in the flag's ``snooze_until``, a column meant for snoozed items (a flag is never
snoozed). The flags' partial index (0017) holds the new column, so that the flags shown on a day
are counted from the index alone (bontrack.scheduling.actions._counts; the day was in no index
of the flags before, and the count read each flag's row for it).

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
FLAGS = "ix_due_items_flags"
# as bontrack.scheduling.models.DueItemRow declares it (a migration keeps its own copy)
FLAGS_ONLY = "kind = 'stop_review'"
FLAG_COLUMNS = ["clinic_id", "kind", "due_date", "last_action"]


def _flags_index(columns: list[str]) -> None:
    op.create_index(
        FLAGS,
        TABLE,
        columns,
        unique=False,
        sqlite_where=sa.text(FLAGS_ONLY),
        postgresql_where=sa.text(FLAGS_ONLY),
    )


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("shown_from", sa.Date(), nullable=True))
    op.drop_index(FLAGS, table_name=TABLE)
    _flags_index([*FLAG_COLUMNS, "shown_from"])

    import bontrack.kinds  # noqa: F401  (every table mapped)
    from bontrack.scheduling.due import rebuild

    with Session(bind=op.get_bind()) as db:
        rebuild(db)
        db.flush()


def downgrade() -> None:
    op.execute(f"UPDATE {TABLE} SET snooze_until = shown_from WHERE {FLAGS_ONLY}")
    op.drop_index(FLAGS, table_name=TABLE)
    op.drop_column(TABLE, "shown_from")
    _flags_index(FLAG_COLUMNS)
