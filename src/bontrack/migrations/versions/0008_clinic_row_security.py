"""PostgreSQL row-level security: every table with a clinic_id shows a transaction only the rows
of the clinic it is limited to (the setting ``bontrack.clinic_id``, set by the application for a
user of one clinic); without that setting, every row (the operator's tools, admins).

Policies are FORCEd, so they hold for the tables' owner too; a superuser or a role with
BYPASSRLS still sees everything, so the application's role must be neither (see the README).
Rows without a clinic (audit entries of log-ins, exports) are hidden from a limited transaction
but may be written by it. SQLite has no row-level security: nothing changes there.

A table created by a later migration with a clinic_id column adds the same policy
(tests/storage/test_row_security.py checks that every such table has it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import scoped_to_clinic

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FUNCTION = (
    "CREATE FUNCTION bontrack_clinic_visible(row_clinic text) RETURNS boolean "
    "LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('bontrack.clinic_id', true), '') = '' "
    "OR row_clinic = current_setting('bontrack.clinic_id', true) $$"
)


def tables_with_clinic() -> list[str]:
    inspector = sa.inspect(op.get_bind())
    return sorted(
        name
        for name in inspector.get_table_names()
        if any(column["name"] == "clinic_id" for column in inspector.get_columns(name))
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in tables_with_clinic():
        for statement in scoped_to_clinic(table):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables_with_clinic():
        op.execute(f"DROP POLICY IF EXISTS clinic_scope ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS bontrack_clinic_visible(text)")
