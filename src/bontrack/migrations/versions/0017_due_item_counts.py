"""The due items' counts read from small indexes: two partial indexes on ``due_items``, one of
the stop-and-review flags and one of the items with a worklist action, so that the home page's
and the worklist's counts (bontrack.scheduling.actions._counts) no longer test the kind and the
action of every item of the clinic's history on each request.

Revision ID: 0017_due_item_counts
Revises: 0016_audit_ids_binary
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_due_item_counts"
down_revision = "0016_audit_ids_binary"
branch_labels = None
depends_on = None

TABLE = "due_items"
# as bontrack.scheduling.models.DueItemRow declares them (a migration keeps its own copy)
FLAGS_ONLY = "kind = 'stop_review'"
ACTED_ONLY = "last_action IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_due_items_flags",
        TABLE,
        ["clinic_id", "kind", "due_date", "last_action"],
        unique=False,
        sqlite_where=sa.text(FLAGS_ONLY),
        postgresql_where=sa.text(FLAGS_ONLY),
    )
    op.create_index(
        "ix_due_items_acted",
        TABLE,
        ["clinic_id", "kind", "due_date", "last_action", "snooze_until"],
        unique=False,
        sqlite_where=sa.text(ACTED_ONLY),
        postgresql_where=sa.text(ACTED_ONLY),
    )


def downgrade() -> None:
    op.drop_index("ix_due_items_acted", table_name=TABLE)
    op.drop_index("ix_due_items_flags", table_name=TABLE)
