"""Leaner rows (issue 18, bytes per patient) and the audit log filtered through an index.

- SQLite: every stored version's JSON is minified (SQLite's ``json()``: the blanks after ',' and
  ':' go; keys, values, number texts and escapes are kept as they were). New JSON is written
  compact by the engine (``storage.engine.json_text``). PostgreSQL's rows are left as they are
  (its large values are compressed by TOAST).
- Outcomes and injection sessions lose their index on ``clinic_id`` alone: migration 0011's
  (clinic_id, recorded_at) index begins with it and serves every look-up by clinic.
- ``audit_packs`` gets an index on its actor, and ``audit_record_packs`` names, for each record,
  the packs naming it (its id's first 8 characters, the pack; on PostgreSQL the pack's clinic
  too, with the clinic policy of migration 0008). A trigger on ``audit_packs`` fills it as packs
  are inserted; an existing log's packs are filed here. It is append-only like the packs.

Nothing is lost: no version, pack or text is removed or changed in content. ``VACUUM`` gives
the freed pages of a converted SQLite file back to the file system.

Revision ID: 0012_lean_rows
Revises: 0011_due_items
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import NO_CLINIC_EMPTY, scoped_to_clinic

revision = "0012_lean_rows"
down_revision = "0011_due_items"
branch_labels = None
depends_on = None

CLINIC_ONLY = ("outcome_versions", "injection_session_versions")
TABLE = "audit_record_packs"
KEY = 8

# (OR IGNORE skips a record named twice in a pack, and an entry of no record id: its key is NULL)
SQLITE_FILE = (
    f"INSERT OR IGNORE INTO {TABLE} (record_key, pack) "
    "SELECT substr(json_extract(e.value, '$[0]'), 1, 8), {seq} FROM {source}json_each({ids}) e"
)
POSTGRES_FILE = (
    f"INSERT INTO {TABLE} (record_key, pack, clinic_id) "
    "SELECT DISTINCT left(e.item ->> 0, 8), {seq}, {clinic} "
    "FROM {source}jsonb_array_elements({ids}::jsonb) AS e(item) WHERE e.item ->> 0 IS NOT NULL "
    "ON CONFLICT DO NOTHING"
)


def _versions_tables(bind: sa.Connection) -> list[str]:
    return sorted(t for t in sa.inspect(bind).get_table_names() if t.endswith("_versions"))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table in CLINIC_ONLY:
        op.drop_index(f"ix_{table}_clinic_id", table_name=table)
    op.create_index("ix_audit_packs_actor", "audit_packs", ["actor"], unique=False)
    op.create_table(
        TABLE,
        sa.Column("record_key", sa.String(length=KEY), nullable=False),
        sa.Column("pack", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("record_key", "pack", "clinic_id"),
        sqlite_with_rowid=False,
    )
    if sqlite:
        op.execute(
            "CREATE TRIGGER audit_packs_file_records AFTER INSERT ON audit_packs "
            "WHEN NEW.ids IS NOT NULL BEGIN "
            + SQLITE_FILE.format(seq="NEW.seq", source="", ids="NEW.ids")
            + "; END"
        )
        for name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{name.lower()} BEFORE {name} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {name} refused'); END"
            )
        op.execute(SQLITE_FILE.format(seq="p.seq", source="audit_packs p, ", ids="p.ids"))
        for table in _versions_tables(bind):
            op.execute(f"UPDATE {table} SET data = json(data)")
        return
    op.execute(
        "CREATE FUNCTION audit_packs_file_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.ids IS NOT NULL THEN "
        + POSTGRES_FILE.format(seq="NEW.seq", clinic="NEW.clinic_id", source="", ids="NEW.ids")
        + "; END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_packs_file_records AFTER INSERT ON audit_packs "
        "FOR EACH ROW EXECUTE FUNCTION audit_packs_file_records()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_update_or_delete BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )
    for statement in scoped_to_clinic(TABLE, NO_CLINIC_EMPTY):
        op.execute(statement)
    op.execute(POSTGRES_FILE.format(seq="p.seq", clinic="p.clinic_id", source="audit_packs p, ", ids="p.ids"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_packs_file_records")
    else:
        op.execute("DROP TRIGGER audit_packs_file_records ON audit_packs")
        op.execute("DROP FUNCTION audit_packs_file_records()")
    op.drop_table(TABLE)
    op.drop_index("ix_audit_packs_actor", table_name="audit_packs")
    for table in CLINIC_ONLY:
        op.create_index(f"ix_{table}_clinic_id", table, ["clinic_id"], unique=False)
