"""session_fields: each session's current version in the typed columns the report reads, kept
as records are written (bontrack.injections.fields_kept), and derived here from the records of an
existing registry.

A derived table, not a clinical record: each patient's rows are deleted and written again when
one of their sessions is written. On PostgreSQL it gets migration 0008's clinic policy, like
every table with a clinic_id.

Revision ID: 0015_session_fields
Revises: 0014_outcome_scores
Create Date: 2026-12-03 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import derive, scoped_to_clinic

revision = "0015_session_fields"
down_revision = "0014_outcome_scores"
branch_labels = None
depends_on = None

TABLE = "session_fields"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("product", sa.Text(), nullable=True),
        sa.Column("total_units", sa.Float(), nullable=True),
        sa.Column("physical_therapy", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("vial_units", sa.Float(), nullable=True),
        sa.Column("vial_count", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("clinic_id", "session_id"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_patient_id"), ["patient_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in scoped_to_clinic(TABLE):
            op.execute(statement)
    _derive(bind)


def _derive(bind: sa.Connection) -> None:
    """The current sessions' fields of every clinic, from its records (nothing to do in a new
    registry)."""
    from bontrack.injections.fields_kept import rebuild

    derive(bind, rebuild)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS clinic_scope ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_patient_id"))
    op.drop_table(TABLE)
