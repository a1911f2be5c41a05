"""due_items: the worklist's due items, kept as records are written (bontrack.scheduling.due). An
existing registry's items are derived from its records by migration 0021, not here: the code
that derives them writes 0021's column (``shown_from``), which this table has not yet.

A derived table, not a clinical record: each patient's rows are deleted and written again when
one of their records is written; `bontrack due --rebuild` derives it all again. Sessions and
outcomes get an index on their recording time (the home page reads those of the last day). On PostgreSQL it
gets migration 0008's clinic policy, like every table with a clinic_id.

Revision ID: 0011_due_items
Revises: 0010_lean_audit
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import scoped_to_clinic

revision = "0011_due_items"
down_revision = "0010_lean_audit"
branch_labels = None
depends_on = None

TABLE = "due_items"
RECORDED_AT = ("injection_session_versions", "outcome_versions")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("item_key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("record_number", sa.String(length=64), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("plan_id", sa.String(length=36), nullable=True),
        sa.Column("clinician_id", sa.String(length=36), nullable=True),
        sa.Column("last_action", sa.String(length=20), nullable=True),
        sa.Column("last_action_on", sa.Date(), nullable=True),
        sa.Column("snooze_until", sa.Date(), nullable=True),
        sa.Column("last_action_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("clinic_id", "patient_id", "item_key"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(
            "ix_due_items_clinic_id_due_date",
            ["clinic_id", "due_date", "kind", "last_action", "snooze_until"],
            unique=False,
        )
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_due_date"), ["due_date"], unique=False)
    # the home page's sessions and self-reports of the last day (recorded since yesterday)
    for table in RECORDED_AT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_clinic_id_recorded_at", ["clinic_id", "recorded_at"], unique=False
            )
    if op.get_bind().dialect.name == "postgresql":
        for statement in scoped_to_clinic(TABLE):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS clinic_scope ON {TABLE}")
    for table in RECORDED_AT:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_clinic_id_recorded_at")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_due_date"))
        batch_op.drop_index("ix_due_items_clinic_id_due_date")
    op.drop_table(TABLE)
