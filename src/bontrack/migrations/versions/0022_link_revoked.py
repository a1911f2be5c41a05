"""patient_links.revoked_at, revoked_by and revoked_reason: a link the clinic withdrew before it
was used (sent to the wrong phone, say), when, by whom and why. A revoked link opens to the words
"This link was withdrawn by the clinic; ask the clinic for a new one." and takes no answers.

Row-level security is per row (0008's policy on ``patient_links``): new columns need nothing.

The downgrade keeps a revoked link unusable for the code before this one, which knows no
revocation: the expiry of a revoked link not used is moved to when it was revoked (it then reads
as expired), and the columns are dropped (SQLite's ALTER TABLE ... DROP COLUMN, 3.35 and later).

Revision ID: 0022_link_revoked
Revises: 0021_flag_shown_from
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_link_revoked"
down_revision = "0021_flag_shown_from"
branch_labels = None
depends_on = None

TABLE = "patient_links"
COLUMNS = ("revoked_at", "revoked_by", "revoked_reason")


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("revoked_at", sa.DateTime(), nullable=True))
    op.add_column(TABLE, sa.Column("revoked_by", sa.String(length=200), nullable=True))
    op.add_column(TABLE, sa.Column("revoked_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute(
        f"UPDATE {TABLE} SET expires_at = revoked_at "
        "WHERE revoked_at IS NOT NULL AND used_at IS NULL AND revoked_at < expires_at"
    )
    for name in reversed(COLUMNS):
        op.drop_column(TABLE, name)
