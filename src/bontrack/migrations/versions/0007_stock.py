"""stock: vials received, opened and discarded by lot (append-only versioned records)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# table -> its indexed look-up columns (besides clinic_id)
TABLES = {
    "stock_receipt_versions": {"lot": 64},
    "vial_opening_versions": {"lot": 64, "session_id": 36, "patient_id": 36},
    "vial_discard_versions": {"lot": 64},
}


def upgrade() -> None:
    for table, indexed in TABLES.items():
        op.create_table(
            table,
            *(sa.Column(name, sa.String(length=size), nullable=True) for name, size in indexed.items()),
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
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ("clinic_id", *indexed):
                batch_op.create_index(batch_op.f(f"ix_{table}_{name}"), [name], unique=False)


def downgrade() -> None:
    for table, indexed in TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ("clinic_id", *indexed):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{name}"))
        op.drop_table(table)
