"""outcome_scores: each outcome's current version in typed columns with its object of scores,
kept as records are written (bontrack.outcomes.scores_kept) for the report, and derived here from
the records of an existing registry.

A derived table, not a clinical record: each patient's rows are deleted and written again when
one of their outcomes is written. On PostgreSQL it gets migration 0008's clinic policy, like every
table with a clinic_id.

Revision ID: 0014_outcome_scores
Revises: 0013_audit_filed_in_batches
Create Date: 2026-12-02 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import derive, scoped_to_clinic

revision = "0014_outcome_scores"
down_revision = "0013_audit_filed_in_batches"
branch_labels = None
depends_on = None

TABLE = "outcome_scores"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("clinic_id", sa.String(length=36), nullable=False),
        sa.Column("outcome_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("weeks_after_session", sa.Float(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("instrument", sa.String(length=64), nullable=True),
        sa.Column("scores", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("clinic_id", "outcome_id"),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{TABLE}_patient_id"), ["patient_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in scoped_to_clinic(TABLE):
            op.execute(statement)
    _derive(bind)


def _derive(bind: sa.Connection) -> None:
    """The current scores of every clinic, from its records (nothing to do in a new registry)."""
    from bontrack.outcomes.scores_kept import rebuild

    derive(bind, rebuild)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS clinic_scope ON {TABLE}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{TABLE}_patient_id"))
    op.drop_table(TABLE)
