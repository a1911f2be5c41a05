"""A lean audit log (issue 18): entries packed per run in ``audit_packs``, texts once in
``audit_texts``, and ``audit_log`` a view giving one entry per record as before.

The one time the log is rewritten: the old ``audit_log`` table's rows are copied, in order, into
packs (neighbouring entries that share actor, action, type, clinic, detail, outcome and second
become one pack; an entry's seq becomes pack * 1024 + place, its time its pack's), then the old
table is dropped. Nothing is lost: the view gives every entry back with the same actor, action,
clinic, record, version, detail, outcome, before and after. From here the packs and texts are
append-only as the old table was (SQLite: triggers abort UPDATE and DELETE; PostgreSQL: the
trigger function of 0005 refuses UPDATE, DELETE and TRUNCATE), and the view refuses UPDATE and
DELETE the same way. On PostgreSQL the packs have migration 0008's row-level security policy and
the view reads them as the querying role (security_invoker). As 0009 keyed the old table, a
pack's key is (seq, clinic_id) on PostgreSQL (distributable by clinic) and seq (the rowid) on
SQLite, and a pack of no clinic has the clinic '' (the view gives NULL). The view's ``pack`` column (the
pack's number) lets a reader of the newest entries, or of one entry, name the packs to expand.

Revision ID: 0010_lean_audit
Revises: 0009_clinic_keys
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bontrack.migrations.clinic_policy import NO_CLINIC_EMPTY, scoped_to_clinic

revision = "0010_lean_audit"
down_revision = "0009_clinic_keys"
branch_labels = None
depends_on = None

PACK_LIMIT = 1024
_BATCH = 5000

SQLITE_VIEW = """
CREATE VIEW audit_log AS
SELECT p.seq * 1024 + coalesce(e.key, 0) AS seq, p.seq AS pack,
       strftime('%Y-%m-%d %H:%M:%S', p.at / 1000000, 'unixepoch') || printf('.%06d', p.at % 1000000) AS at,
       a.text AS actor, c.text AS action, nullif(p.clinic_id, '') AS clinic_id, t.text AS record_type,
       json_extract(e.value, '$[0]') AS record_id, json_extract(e.value, '$[1]') AS version,
       json_extract(p.extra, '$.before') AS before, json_extract(p.extra, '$.after') AS after,
       d.text AS detail, o.text AS outcome
FROM audit_packs p
LEFT JOIN json_each(p.ids) e
JOIN audit_texts a ON a.id = p.actor
JOIN audit_texts c ON c.id = p.action
LEFT JOIN audit_texts t ON t.id = p.record_type
LEFT JOIN audit_texts d ON d.id = p.detail
JOIN audit_texts o ON o.id = p.outcome
"""
POSTGRES_VIEW = """
CREATE VIEW audit_log WITH (security_invoker = true) AS
SELECT p.seq::bigint * 1024 + coalesce(e.n - 1, 0) AS seq, p.seq AS pack,
       timestamp '1970-01-01' + (p.at / 1000000) * interval '1 second'
           + (p.at % 1000000) * interval '1 microsecond' AS at,
       a.text AS actor, c.text AS action, nullif(p.clinic_id, '') AS clinic_id, t.text AS record_type,
       e.item ->> 0 AS record_id, (e.item ->> 1)::integer AS version,
       p.extra -> 'before' AS before, p.extra -> 'after' AS after,
       d.text AS detail, o.text AS outcome
FROM audit_packs p
LEFT JOIN LATERAL jsonb_array_elements(p.ids::jsonb) WITH ORDINALITY AS e(item, n) ON true
JOIN audit_texts a ON a.id = p.actor
JOIN audit_texts c ON c.id = p.action
LEFT JOIN audit_texts t ON t.id = p.record_type
LEFT JOIN audit_texts d ON d.id = p.detail
JOIN audit_texts o ON o.id = p.outcome
"""


def _sqlite_guards() -> list[str]:
    out = []
    for table in ("audit_packs", "audit_texts"):
        for op_name in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {op_name} refused'); END"
            )
    for op_name in ("UPDATE", "DELETE"):
        out.append(
            f"CREATE TRIGGER audit_log_no_{op_name.lower()} INSTEAD OF {op_name} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {op_name} refused'); END"
        )
    return out


def _postgres_guards() -> list[str]:
    out = []
    for table in ("audit_packs", "audit_texts"):
        out.append(
            f"CREATE TRIGGER {table}_no_update_or_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        out.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    out.append(
        "CREATE TRIGGER audit_log_no_update_or_delete INSTEAD OF UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    out += scoped_to_clinic("audit_packs", NO_CLINIC_EMPTY)
    return out


def _micros(at: datetime) -> int:
    delta = at - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _old_table() -> sa.Table:
    return sa.Table(
        "audit_log",
        sa.MetaData(),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime()),
        sa.Column("actor", sa.String(200)),
        sa.Column("action", sa.String(20)),
        sa.Column("clinic_id", sa.String(36)),
        sa.Column("record_type", sa.String(40)),
        sa.Column("record_id", sa.String(36)),
        sa.Column("version", sa.Integer()),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("detail", sa.Text()),
        sa.Column("outcome", sa.String(10)),
    )


def _new_tables() -> tuple[sa.Table, sa.Table]:
    texts = op.create_table(
        "audit_texts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("text"),
    )
    key = ["seq"] if op.get_bind().dialect.name == "sqlite" else ["seq", "clinic_id"]
    packs = op.create_table(
        "audit_packs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=False, server_default=""),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Integer(), nullable=False),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("ids", sa.Text(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint(*key, name="audit_packs_pkey"),
    )
    assert texts is not None and packs is not None
    return texts, packs


def _key(row: Any) -> tuple[Any, ...]:
    return (
        row.actor,
        row.action,
        row.record_type,
        row.clinic_id,
        row.detail,
        row.outcome,
        row.at.replace(microsecond=0),
    )


def _convert(conn: Any, texts: sa.Table, packs: sa.Table) -> None:
    """Copy the old rows, in order, into packs (batch by batch: the log may be large)."""
    numbers: dict[str, int] = {}

    def number(text: str | None) -> int | None:
        if text is None:
            return None
        if text not in numbers:
            numbers[text] = len(numbers) + 1
            conn.execute(texts.insert(), [{"id": numbers[text], "text": text}])
        return numbers[text]

    old = _old_table()
    last_seq = 0
    while True:
        rows = conn.execute(
            sa.select(old).where(old.c.seq > last_seq).order_by(old.c.seq).limit(_BATCH)
        ).all()
        if not rows:
            break
        last_seq = rows[-1].seq
        out: list[dict[str, Any]] = []
        last_key: tuple[Any, ...] | None = None
        for row in rows:
            record = row.record_id is not None or row.version is not None
            alone = not record or row.before is not None or row.after is not None
            key = None if alone else _key(row)
            if key is not None and key == last_key:
                ids = json.loads(out[-1]["ids"])
                if len(ids) < PACK_LIMIT:
                    ids.append([row.record_id, row.version])
                    out[-1]["ids"] = json.dumps(ids, separators=(",", ":"))
                    continue
            out.append(
                {
                    "at": _micros(row.at),
                    "actor": number(row.actor),
                    "action": number(row.action),
                    "clinic_id": row.clinic_id or "",
                    "record_type": number(row.record_type),
                    "detail": number(row.detail),
                    "outcome": number(row.outcome or "ok"),
                    "ids": json.dumps([[row.record_id, row.version]], separators=(",", ":"))
                    if record
                    else None,
                    "extra": None
                    if row.before is None and row.after is None
                    else {"before": row.before, "after": row.after},
                }
            )
            last_key = key
        conn.execute(packs.insert(), out)


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    texts, packs = _new_tables()
    _convert(conn, texts, packs)
    if dialect == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_texts', 'id'), coalesce(max(id), 0) + 1, false) "
            "FROM audit_texts"
        )
    op.drop_table("audit_log")  # its triggers, indexes and policy go with it
    if dialect == "sqlite":
        op.execute(SQLITE_VIEW)
        for statement in _sqlite_guards():
            op.execute(statement)
    else:
        op.execute(POSTGRES_VIEW)
        for statement in _postgres_guards():
            op.execute(statement)


def downgrade() -> None:
    """Back to one row per entry (the view's rows, as a table again, keyed and guarded as 0009
    left it)."""
    conn = op.get_bind()
    dialect = conn.dialect.name
    op.execute(
        "CREATE TABLE audit_log_flat AS SELECT seq, at, actor, action, clinic_id, record_type, "
        "record_id, version, before, after, detail, outcome FROM audit_log"
    )
    op.execute("DROP VIEW audit_log")
    op.drop_table("audit_packs")
    op.drop_table("audit_texts")
    old = _old_table()
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("clinic_id", sa.String(length=36), nullable=False, server_default=""),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False, server_default="ok"),
        sa.PrimaryKeyConstraint(
            *(["seq"] if dialect == "sqlite" else ["seq", "clinic_id"]), name="audit_log_pkey"
        ),
    )
    columns = ", ".join(c.name for c in old.columns if c.name not in ("seq", "clinic_id"))
    op.execute(
        f"INSERT INTO audit_log ({columns}, clinic_id) "
        f"SELECT {columns}, coalesce(clinic_id, '') FROM audit_log_flat ORDER BY seq"
    )
    op.execute("DROP TABLE audit_log_flat")
    for name in ("at", "clinic_id", "record_id"):
        op.create_index(f"ix_audit_log_{name}", "audit_log", [name])
    if dialect == "sqlite":
        for op_name in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {op_name} refused'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
        for statement in scoped_to_clinic("audit_log", NO_CLINIC_EMPTY):
            op.execute(statement)
