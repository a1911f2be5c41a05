"""The adverse events' follow-ups in a partial index of their own on ``due_items``: an open one is
listed whatever its due date (bontrack.scheduling.actions.listed_conditions), so the worklist,
the home page and ``bontrack due`` find those due before the look-back, and count them apart
from the older items (actions._counts), from this small index instead of the clinic's history.

Revision ID: 0024_adverse_event_index
Revises: 0023_adverse_event_items
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_adverse_event_index"
down_revision = "0023_adverse_event_items"
branch_labels = None
depends_on = None

TABLE = "due_items"
# as bontrack.scheduling.models.DueItemRow declares it (a migration keeps its own copy)
EVENTS_ONLY = "kind = 'adverse_event'"


def upgrade() -> None:
    op.create_index(
        "ix_due_items_events",
        TABLE,
        ["clinic_id", "due_date", "kind", "last_action", "snooze_until"],
        unique=False,
        sqlite_where=sa.text(EVENTS_ONLY),
        postgresql_where=sa.text(EVENTS_ONLY),
    )


def downgrade() -> None:
    op.drop_index("ix_due_items_events", table_name=TABLE)
