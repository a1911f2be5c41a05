"""The audit packs' record ids as bytes (issue 18, item 3): ``audit_packs.ids`` holds a pack's
(record id, version) pairs as 17 bytes an entry (a UUID's 16 bytes and a version byte) after a
first byte 0x00, or, when an id is not UUID-shaped or a version does not fit a byte, as the JSON
text it was (bontrack.storage.audit_ids, the codec; the bytes of its format are frozen here: a
migration stands alone). An empty ``extra`` is NULL, not the JSON text 'null'.

The view ``audit_log`` and the filing of packs by record (``audit_record_packs``: the key is still
the first 8 characters of the id's text, so the packs filed so far stay filed) decode both forms
in SQL. Every entry reads back with the same facts; the downgrade writes the JSON text again.

SQLite: ``audit_packs`` is rebuilt (its ``ids`` column becomes a BLOB), the rows copied in order
with the same ``seq``, batch by batch; its index, guards and the view are made again. Its clinic
becomes a number: the clinic id's number in ``audit_texts`` (0: no clinic), a few bytes, not 36
(SQLite has no row-level security reading it, and is never distributed). On PostgreSQL the
clinic stays the text it is: the row-level security policy and the key (distribution by clinic)
read it.
PostgreSQL: ``ids`` becomes ``bytea`` and ``extra`` loses its 'null' by ``ALTER COLUMN ... TYPE
... USING`` (a rewrite of the table keeping its key, partitions, policy and triggers; no UPDATE,
which the append-only guard refuses), and the trigger filing packs by record reads the bytes.

Revision ID: 0016_audit_ids_binary
Revises: 0015_session_fields
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016_audit_ids_binary"
down_revision = "0015_session_fields"
branch_labels = None
depends_on = None

_BATCH = 5000
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# ---- the format (as bontrack.storage.audit_ids writes it at this revision) ----------------------


def _encode(entries: list[list[Any]]) -> bytes:
    binary = all(
        isinstance(i, str)
        and _UUID.fullmatch(i) is not None
        and (v is None or (type(v) is int and 0 <= v <= 254))
        for i, v in entries
    )
    if not binary:
        return json.dumps(entries, separators=(",", ":")).encode()
    out = bytearray(b"\x00")
    for record_id, version in entries:
        out += bytes.fromhex(record_id.replace("-", ""))
        out.append(255 if version is None else version)
    return bytes(out)


def _decode(stored: bytes) -> list[list[Any]]:
    stored = bytes(stored)
    if stored[:1] != b"\x00":
        return [list(e) for e in json.loads(stored.decode())]
    out = []
    for start in range(1, len(stored), 17):
        h = stored[start : start + 16].hex()
        version = stored[start + 16]
        out.append([f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", None if version == 255 else version])
    return out


# ---- reading it in SQL -------------------------------------------------------------------------
# SQLite: the entries of a binary pack are the keys of a JSON array of as many zeros (json_each
# over '[0,0,...]' made from a zeroblob), of a JSON pack its elements; an entry's id is its 16
# bytes in hex with the dashes put back, its version the place of its byte in the 256 bytes 0..255.
_SQ_BINARY = "substr({ids}, 1, 1) = X'00'"
_SQ_EACH = (
    "json_each(CASE WHEN "
    + _SQ_BINARY
    + " THEN '[' || rtrim(replace(hex(zeroblob((length({ids}) - 1) / 17)), "
    "'00', '0,'), ',') || ']' ELSE CAST({ids} AS TEXT) END)"
)
_SQ_PART = "lower(hex(substr({ids}, {at} + {e}.key * 17, {n})))"
_UUID_PARTS = ((0, 4), (4, 2), (6, 2), (8, 2), (10, 6))  # (offset, bytes) of the 8-4-4-4-12 groups
_SQ_ID = (
    "CASE WHEN "
    + _SQ_BINARY
    + " THEN "
    + " || '-' || ".join(_SQ_PART.replace("{at}", str(2 + a)).replace("{n}", str(n)) for a, n in _UUID_PARTS)
    + " ELSE json_extract({e}.value, '$[0]') END"
)
_SQ_KEY = (
    "CASE WHEN "
    + _SQ_BINARY
    + " THEN "
    + _SQ_PART.replace("{at}", "2").replace("{n}", "4")
    + " ELSE substr(json_extract({e}.value, '$[0]'), 1, 8) END"
)
_SQ_VERSION = (
    "CASE WHEN " + _SQ_BINARY + " THEN nullif(instr(X'" + bytes(range(256)).hex() + "', "
    "substr({ids}, 18 + {e}.key * 17, 1)) - 1, 255) ELSE json_extract({e}.value, '$[1]') END"
)


def _sq(fragment: str, ids: str = "p.ids", e: str = "e") -> str:
    return fragment.replace("{ids}", ids).replace("{e}", e)


SQLITE_VIEW = f"""
CREATE VIEW audit_log AS
SELECT p.seq * 1024 + coalesce(e.key, 0) AS seq, p.seq AS pack,
       strftime('%Y-%m-%d %H:%M:%S', p.at / 1000000, 'unixepoch') || printf('.%06d', p.at % 1000000) AS at,
       a.text AS actor, c.text AS action, k.text AS clinic_id, t.text AS record_type,
       {_sq(_SQ_ID)} AS record_id,
       {_sq(_SQ_VERSION)} AS version,
       json_extract(p.extra, '$.before') AS before, json_extract(p.extra, '$.after') AS after,
       d.text AS detail, o.text AS outcome
FROM audit_packs p
LEFT JOIN {_sq(_SQ_EACH)} e
LEFT JOIN audit_texts k ON k.id = p.clinic_id
JOIN audit_texts a ON a.id = p.actor
JOIN audit_texts c ON c.id = p.action
LEFT JOIN audit_texts t ON t.id = p.record_type
LEFT JOIN audit_texts d ON d.id = p.detail
JOIN audit_texts o ON o.id = p.outcome
"""
# PostgreSQL: a JSON pack's elements, or a binary pack's places from generate_series.
_PG_ENTRIES = """(
    SELECT j.n - 1 AS n, j.item ->> 0 AS record_id, (j.item ->> 1)::integer AS version
    FROM jsonb_array_elements(CASE WHEN get_byte({ids}, 0) <> 0 THEN convert_from({ids}, 'UTF8')::jsonb END)
        WITH ORDINALITY AS j(item, n)
    UNION ALL
    SELECT b.n, encode(substring({ids} from 2 + b.n * 17 for 16), 'hex')::uuid::text,
        nullif(get_byte({ids}, 17 + b.n * 17), 255)
    FROM generate_series(0, CASE WHEN get_byte({ids}, 0) = 0 THEN (length({ids}) - 1) / 17 - 1 END) AS b(n)
)"""
POSTGRES_VIEW = f"""
CREATE VIEW audit_log WITH (security_invoker = true) AS
SELECT p.seq::bigint * 1024 + coalesce(e.n, 0) AS seq, p.seq AS pack,
       timestamp '1970-01-01' + (p.at / 1000000) * interval '1 second'
           + (p.at % 1000000) * interval '1 microsecond' AS at,
       a.text AS actor, c.text AS action, nullif(p.clinic_id, '') AS clinic_id, t.text AS record_type,
       e.record_id, e.version,
       p.extra -> 'before' AS before, p.extra -> 'after' AS after,
       d.text AS detail, o.text AS outcome
FROM audit_packs p
LEFT JOIN LATERAL {_PG_ENTRIES.replace("{ids}", "p.ids")} AS e ON true
JOIN audit_texts a ON a.id = p.actor
JOIN audit_texts c ON c.id = p.action
LEFT JOIN audit_texts t ON t.id = p.record_type
LEFT JOIN audit_texts d ON d.id = p.detail
JOIN audit_texts o ON o.id = p.outcome
"""
POSTGRES_FILE = (
    "CREATE OR REPLACE FUNCTION audit_packs_file_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.ids IS NOT NULL THEN "
    "INSERT INTO audit_record_packs (record_key, pack, clinic_id) "
    "SELECT DISTINCT left(e.record_id, 8), NEW.seq, NEW.clinic_id "
    f"FROM {_PG_ENTRIES.replace('{ids}', 'NEW.ids')} AS e WHERE e.record_id IS NOT NULL "
    "ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$"
)

# ---- as 0010/0012 left them (for the downgrade) -------------------------------------------------
OLD_SQLITE_VIEW = """
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
OLD_POSTGRES_VIEW = """
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
OLD_POSTGRES_FILE = (
    "CREATE OR REPLACE FUNCTION audit_packs_file_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.ids IS NOT NULL THEN "
    "INSERT INTO audit_record_packs (record_key, pack, clinic_id) "
    "SELECT DISTINCT left(e.item ->> 0, 8), NEW.seq, NEW.clinic_id "
    "FROM jsonb_array_elements(NEW.ids::jsonb) AS e(item) WHERE e.item ->> 0 IS NOT NULL "
    "ON CONFLICT DO NOTHING; END IF; RETURN NULL; END $$"
)
_VIEW_GUARDS = {
    "sqlite": [
        f"CREATE TRIGGER audit_log_no_{name.lower()} INSTEAD OF {name} ON audit_log "
        f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {name} refused'); END"
        for name in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE TRIGGER audit_log_no_update_or_delete INSTEAD OF UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    ],
}
# PostgreSQL: the JSON text of a pack's ids as bytes, and back (a function for ALTER ... USING,
# which takes no subquery; dropped after)
_PG_TO_BYTES = """
CREATE FUNCTION pg_temp.audit_ids_bytes(ids text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
    WHEN ids IS NULL THEN NULL
    WHEN bool_and(e.fits) THEN '\\x00'::bytea || coalesce(string_agg(
        decode(CASE WHEN e.fits THEN replace(e.item ->> 0, '-', '') ELSE '' END, 'hex')
        || set_byte('\\x00'::bytea, 0,
                    CASE WHEN e.fits THEN coalesce((e.item ->> 1)::integer, 255) ELSE 0 END),
        ''::bytea ORDER BY e.n), '')
    ELSE convert_to(ids, 'UTF8')
END
FROM (
    SELECT j.item, j.n,
        CASE WHEN jsonb_typeof(j.item -> 0) = 'string'
                  AND j.item ->> 0 ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
             THEN CASE WHEN jsonb_typeof(j.item -> 1) = 'null' THEN true
                       WHEN jsonb_typeof(j.item -> 1) = 'number' AND (j.item ->> 1) ~ '^[0-9]{1,3}$'
                       THEN (j.item ->> 1)::integer <= 254
                       ELSE false END
             ELSE false END AS fits
    FROM jsonb_array_elements(ids::jsonb) WITH ORDINALITY AS j(item, n)
) e
$$
"""
_PG_TO_TEXT = (
    """
CREATE FUNCTION pg_temp.audit_ids_text(ids bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE
    WHEN ids IS NULL THEN NULL
    WHEN get_byte(ids, 0) <> 0 THEN convert_from(ids, 'UTF8')
    ELSE (SELECT coalesce(jsonb_agg(jsonb_build_array(e.record_id, e.version) ORDER BY e.n), '[]')::text
          FROM """
    + _PG_ENTRIES.replace("{ids}", "ids")
    + """ AS e)
END
$$
"""
)


def _sqlite_packs(ids_type: Any, clinic_type: Any, no_clinic: str) -> None:
    op.create_table(
        "audit_packs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("clinic_id", clinic_type, nullable=False, server_default=no_clinic),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Integer(), nullable=False),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Integer(), nullable=False),
        sa.Column("ids", ids_type, nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="audit_packs_pkey"),
    )


def _sqlite_rebuild(ids_type: Any, convert: Any, view: str, *, numbered: bool) -> None:
    """audit_packs made again with ``ids_type``, each row's ids through ``convert``, in order;
    its clinic by number (``numbered``: the clinic's audit_texts id, 0 for none) or as text."""
    conn = op.get_bind()
    op.execute("DROP VIEW audit_log")  # its INSTEAD OF guards go with it
    for name in ("update", "delete"):
        op.execute(f"DROP TRIGGER audit_packs_no_{name}")
    op.drop_index("ix_audit_packs_actor", table_name="audit_packs")
    op.execute("ALTER TABLE audit_packs RENAME TO audit_packs_old")
    if numbered:
        _sqlite_packs(ids_type, sa.Integer(), "0")
        op.execute(  # the clinics named as texts (append-only as the others; known ones kept)
            "INSERT OR IGNORE INTO audit_texts (text) "
            "SELECT DISTINCT clinic_id FROM audit_packs_old WHERE clinic_id <> '' ORDER BY clinic_id"
        )
        clinic = (
            "coalesce((SELECT t.id FROM audit_texts t WHERE t.text = o.clinic_id AND o.clinic_id <> ''), 0)"
        )
    else:
        _sqlite_packs(ids_type, sa.String(length=36), "")
        clinic = "coalesce((SELECT t.text FROM audit_texts t WHERE t.id = o.clinic_id), '')"
    columns = "seq, clinic_id, at, actor, action, record_type, detail, outcome, ids, extra"
    read = columns.replace("clinic_id", clinic)
    last = 0
    while True:
        rows = conn.exec_driver_sql(
            f"SELECT {read} FROM audit_packs_old o WHERE seq > ? ORDER BY seq LIMIT {_BATCH}", (last,)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        out = []
        for row in rows:
            values = list(row)
            values[8] = None if values[8] is None else convert(values[8])
            values[9] = None if values[9] in (None, "null") else values[9]
            out.append(tuple(values))
        conn.exec_driver_sql(
            f"INSERT INTO audit_packs ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", out
        )
    op.execute("DROP TABLE audit_packs_old")
    op.create_index("ix_audit_packs_actor", "audit_packs", ["actor"], unique=False)
    for name in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_packs_no_{name.lower()} BEFORE {name} ON audit_packs "
            f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {name} refused'); END"
        )
    op.execute(view)
    for statement in _VIEW_GUARDS["sqlite"]:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(sa.LargeBinary(), lambda ids: _encode(json.loads(ids)), SQLITE_VIEW, numbered=True)
        return
    op.execute("DROP VIEW audit_log")
    op.execute(_PG_TO_BYTES)
    op.execute("ALTER TABLE audit_packs ALTER COLUMN ids TYPE bytea USING pg_temp.audit_ids_bytes(ids)")
    op.execute(
        "ALTER TABLE audit_packs ALTER COLUMN extra TYPE json "
        "USING CASE WHEN extra::text = 'null' THEN NULL ELSE extra END"
    )
    op.execute("DROP FUNCTION pg_temp.audit_ids_bytes(text)")
    op.execute(POSTGRES_FILE)
    op.execute(POSTGRES_VIEW)
    for statement in _VIEW_GUARDS["postgresql"]:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(
            sa.Text(),
            lambda ids: json.dumps(_decode(ids), separators=(",", ":")),
            OLD_SQLITE_VIEW,
            numbered=False,
        )
        return
    op.execute("DROP VIEW audit_log")
    op.execute(_PG_TO_TEXT)
    op.execute("ALTER TABLE audit_packs ALTER COLUMN ids TYPE text USING pg_temp.audit_ids_text(ids)")
    op.execute("DROP FUNCTION pg_temp.audit_ids_text(bytea)")
    op.execute(OLD_POSTGRES_FILE)
    op.execute(OLD_POSTGRES_VIEW)
    for statement in _VIEW_GUARDS["postgresql"]:
        op.execute(statement)
