"""clinic_id in every primary and unique key of every table a clinic owns, so the schema can be
hash-distributed by clinic (Citus; see the README, "Distributing by clinic")

* every record table (``*_versions``): key (id, version) -> (id, version, clinic_id);
* ``patient_links``: key (id) -> (id, clinic_id), unique (token_hash) -> (token_hash, clinic_id);
* ``audit_log``: an entry of no clinic gets the clinic '' instead of NULL (a key column cannot be
  NULL; the application still reads None), the column is NOT NULL with default ''; on PostgreSQL
  its key (seq) -> (seq, clinic_id). On SQLite ``seq`` stays the key: it is the rowid, which
  numbers the entries (SQLite is never distributed). Its row-level security policy lets a
  limited transaction write an entry of clinic '' as it could write one of NULL.

The tables are found by what they hold, not by a list: a record table is any table whose key is
(id, version) and that has a clinic_id. Rows are copied as they are: nothing is lost (the
migration tests count every table's rows before and after). SQLite rebuilds each table (batch
mode: copy, drop, rename); PostgreSQL swaps the key constraints in place.

Revision ID: 0009_clinic_keys
Revises: 0008
Create Date: 2026-12-02 03:40:00
"""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic import op

revision = "0009_clinic_keys"
down_revision = "0008"
branch_labels = None
depends_on = None

LINKS = "patient_links"
AUDIT = "audit_log"
LINK_UNIQUE = "uq_patient_links_token_hash"
# 0005's triggers, dropped with the table when SQLite rebuilds it
SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
)
POLICY = "CREATE POLICY clinic_scope ON audit_log USING (bontrack_clinic_visible(clinic_id)) WITH CHECK ({})"
CHECK_BEFORE = "clinic_id IS NULL OR bontrack_clinic_visible(clinic_id)"
CHECK_AFTER = "clinic_id = '' OR bontrack_clinic_visible(clinic_id)"


def record_tables() -> list[str]:
    inspector = sa.inspect(op.get_bind())
    found = []
    for name in inspector.get_table_names():
        key = inspector.get_pk_constraint(name)["constrained_columns"]
        columns = {c["name"] for c in inspector.get_columns(name)}
        if key[:2] == ["id", "version"] and "clinic_id" in columns:
            found.append(name)
    return sorted(found)


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _set_key(table: str, columns: list[str]) -> None:
    """Make ``columns`` the table's primary key (the constraint keeps its name on PostgreSQL)."""
    if _sqlite():
        with warnings.catch_warnings():  # the rebuilt copy is told its new key: SQLAlchemy remarks on it
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.create_primary_key(f"{table}_pkey", columns)
        return
    name = sa.inspect(op.get_bind()).get_pk_constraint(table)["name"] or f"{table}_pkey"
    op.drop_constraint(name, table, type_="primary")
    op.create_primary_key(name, table, columns)


def _link_keys(*, with_clinic: bool) -> None:
    key = ["id", "clinic_id"] if with_clinic else ["id"]
    unique = ["token_hash", "clinic_id"] if with_clinic else ["token_hash"]
    inspector = sa.inspect(op.get_bind())
    old_unique = [
        u["name"]
        for u in inspector.get_unique_constraints(LINKS)
        if u["column_names"] == (["token_hash"] if with_clinic else ["token_hash", "clinic_id"])
    ]
    if _sqlite():
        convention = {"uq": "uq_%(table_name)s_%(column_0_name)s"}  # names SQLite's unnamed one
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            with op.batch_alter_table(LINKS, recreate="always", naming_convention=convention) as batch_op:
                for name in old_unique:
                    batch_op.drop_constraint(name or LINK_UNIQUE, type_="unique")
                batch_op.create_primary_key(f"{LINKS}_pkey", key)
                if with_clinic:
                    batch_op.create_unique_constraint(LINK_UNIQUE, unique)
                else:
                    batch_op.create_unique_constraint(f"{LINKS}_token_hash_key", unique)
        return
    for name in old_unique:
        op.drop_constraint(str(name), LINKS, type_="unique")
    _set_key(LINKS, key)
    op.create_unique_constraint(LINK_UNIQUE if with_clinic else f"{LINKS}_token_hash_key", LINKS, unique)


def _audit_upgrade() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute("UPDATE audit_log SET clinic_id = '' WHERE clinic_id IS NULL")
        with op.batch_alter_table(AUDIT, recreate="always") as batch_op:
            batch_op.alter_column("clinic_id", existing_type=sa.String(36), nullable=False, server_default="")
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)
        return
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")  # the append-only trigger, for this once
    op.execute("UPDATE audit_log SET clinic_id = '' WHERE clinic_id IS NULL")
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    op.alter_column(AUDIT, "clinic_id", existing_type=sa.String(36), nullable=False, server_default="")
    _set_key(AUDIT, ["seq", "clinic_id"])
    op.execute("DROP POLICY IF EXISTS clinic_scope ON audit_log")
    op.execute(POLICY.format(CHECK_AFTER))


def _audit_downgrade() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        with op.batch_alter_table(AUDIT, recreate="always") as batch_op:
            batch_op.alter_column(
                "clinic_id", existing_type=sa.String(36), nullable=True, server_default=None
            )
        op.execute("UPDATE audit_log SET clinic_id = NULL WHERE clinic_id = ''")
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)
        return
    _set_key(AUDIT, ["seq"])
    op.alter_column(AUDIT, "clinic_id", existing_type=sa.String(36), nullable=True, server_default=None)
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    op.execute("UPDATE audit_log SET clinic_id = NULL WHERE clinic_id = ''")
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
    op.execute("DROP POLICY IF EXISTS clinic_scope ON audit_log")
    op.execute(POLICY.format(CHECK_BEFORE))


def upgrade() -> None:
    for table in record_tables():
        _set_key(table, ["id", "version", "clinic_id"])
    _link_keys(with_clinic=True)
    _audit_upgrade()


def downgrade() -> None:
    _audit_downgrade()
    _link_keys(with_clinic=False)
    for table in record_tables():
        _set_key(table, ["id", "version"])
