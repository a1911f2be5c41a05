"""The audit log's record index filed in batches on SQLite (issue 18, audit without a write per read).

Migration 0012's trigger filed each new pack's records in ``audit_record_packs`` as the pack was
inserted: keys at random places in the index, so a chart read (about 40 records) changed about
40 pages of it, each written whole to the write-ahead log: 1.3 of the 1.6 ms of CPU its audit
entries cost. On SQLite the trigger goes; the writers file the packs not yet filed in batches,
sorted by key (``storage.audit_packs.file_records``), and ``audit_filed`` says how far the packs
are filed (every pack up to ``upto``); the log filtered by record reads the packs after it too.
SQLite commits one writer at a time, so the packs commit in the order of their numbers and a
batch never passes a pack still being written.

On PostgreSQL the trigger stays (concurrent writers commit packs out of order) and
``audit_filed`` is created empty, for one schema on both.

Revision ID: 0013_audit_filed_in_batches
Revises: 0012_lean_rows
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_filed_in_batches"
down_revision = "0012_lean_rows"
branch_labels = None
depends_on = None

TABLE = "audit_filed"
# migration 0012's trigger, and how it filed a pack (kept here: a migration stands alone)
SQLITE_FILE = (
    "INSERT OR IGNORE INTO audit_record_packs (record_key, pack) "
    "SELECT substr(json_extract(e.value, '$[0]'), 1, 8), {seq} FROM {source}json_each({ids}) e"
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("upto", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER audit_packs_file_records")
    # every pack so far was filed by the trigger
    op.execute(f"INSERT INTO {TABLE} (id, upto) SELECT 1, coalesce(max(seq), 0) FROM audit_packs")
    # the mark only moves on (a mark moved back would file again, harmlessly; one moved on
    # without filing would hide packs from the filter): no delete, no going back
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
        "BEGIN SELECT RAISE(ABORT, 'audit_filed: DELETE refused'); END"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_only_on BEFORE UPDATE ON {TABLE} WHEN NEW.upto < OLD.upto "
        "OR NEW.id != OLD.id BEGIN SELECT RAISE(ABORT, 'audit_filed: the mark only moves on'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER {TABLE}_no_delete")
        op.execute(f"DROP TRIGGER {TABLE}_only_on")
        source = f"audit_packs p, (SELECT coalesce(max(upto), 0) AS upto FROM {TABLE}) f, "
        op.execute(SQLITE_FILE.format(seq="p.seq", source=source, ids="p.ids") + " WHERE p.seq > f.upto")
        op.execute(
            "CREATE TRIGGER audit_packs_file_records AFTER INSERT ON audit_packs "
            "WHEN NEW.ids IS NOT NULL BEGIN "
            + SQLITE_FILE.format(seq="NEW.seq", source="", ids="NEW.ids")
            + "; END"
        )
    op.drop_table(TABLE)
