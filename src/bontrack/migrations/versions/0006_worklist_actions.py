"""worklist_action_versions: what was done about a worklist item (done, contacted, cancelled with
a reason, snoozed to a date, stop-and-review done with its decision), append-only like every record

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "worklist_action_versions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("item_key", sa.String(length=120), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", "version"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_item_key"), ["item_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_item_key"))
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_patient_id"))
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_clinic_id"))
    op.drop_table(TABLE)
