"""Copy a SQLite registry's rows into a PostgreSQL registry of the same schema with COPY: the web
benchmark's PostgreSQL registry in about a minute, where building the demo on PostgreSQL through
the services took far longer (and stalled once).

The schema is made by `bontrack db upgrade` (so it is the migrations' schema, row-level security
included); every table's rows are then copied as they are, foreign-key triggers off for the copy
(as the superuser), the audit log left out (a benchmark's registry starts with an empty trail),
sequences moved past the copied ids, and the tables analysed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from bontrack.storage.record_ids import id_text
from bontrack.storage.record_json import unpack_text

SKIPPED = ("alembic_version",)
SKIPPED_PREFIX = ("audit_", "sqlite_")


def _columns(pg: Any, table: str) -> list[tuple[str, str]]:
    rows = pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(name, kind) for name, kind in rows]


def copy_rows(sqlite_path: Path, libpq: str, console_print: Any = print) -> int:
    """Copy every table's rows from the SQLite file into the (migrated, empty) PostgreSQL
    database; returns how many rows were copied."""
    import psycopg

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    tables = [
        name
        for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if name not in SKIPPED and not name.startswith(SKIPPED_PREFIX)
    ]
    copied = 0
    with psycopg.connect(libpq) as pg:
        pg.execute("SET session_replication_role = replica")  # no foreign-key triggers during the copy
        pg.execute("SET TimeZone = 'UTC'")  # SQLite holds UTC times without an offset
        for table in tables:
            columns = _columns(pg, table)
            if not columns:
                continue
            names = [name for name, _ in columns]
            booleans = [i for i, (_, kind) in enumerate(columns) if kind == "boolean"]
            content = names.index("data") if table.endswith("_versions") and "data" in names else None
            quoted = ", ".join(f'"{n}"' for n in names)
            with pg.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {quoted} FROM {table}"):
                    # a record id SQLite holds as a UUID's 16 bytes is PostgreSQL's text
                    values = [id_text(v) for v in row]
                    if content is not None:  # a version's JSON, packed on SQLite (storage.record_json)
                        values[content] = unpack_text(row[content])
                    for i in booleans:
                        values[i] = None if values[i] is None else bool(values[i])
                    copy.write_row(values)
                    copied += 1
            console_print(f"  copied {table}")
        for table, column, sequence in pg.execute(
            "SELECT c.table_name, c.column_name, pg_get_serial_sequence(c.table_name, c.column_name)"
            " FROM information_schema.columns c WHERE c.table_schema = 'public'"
            " AND pg_get_serial_sequence(c.table_name, c.column_name) IS NOT NULL"
        ).fetchall():
            pg.execute(f"SELECT setval('{sequence}', GREATEST(1, (SELECT max({column}) FROM {table})))")
        pg.commit()
    with psycopg.connect(libpq, autocommit=True) as pg:
        pg.execute("ANALYZE")
    return copied


def migrate(url: str) -> None:
    exe = str(Path(sys.executable).with_name("bontrack"))
    subprocess.run(
        [exe, "--db", url, "--actor", "bench:setup", "db", "upgrade"],
        capture_output=True,
        text=True,
        check=True,
    )
