"""Record ids stored as 16 bytes on SQLite (bontrack.storage.record_ids, migration 0018; issue 18,
the bytes a patient): a UUID's canonical text is stored as its 16 bytes, any other id as the text
it is, and every id reads back and is found exactly as written, on SQLite and PostgreSQL (text
there, unchanged). The report's readers of the SQLite file decode them (reports.stored_ids), and
the migration keeps every row both ways."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
import numpy as np
from alembic import command
from sqlalchemy import Column, Engine, Integer, MetaData, Table, bindparam, case, insert, select, text

from bontrack.knowledge.loader import load_knowledge
from bontrack.patients.models import PatientRow
from bontrack.reports.content import build_report
from bontrack.reports.data import cohort_frames
from bontrack.reports.stored_ids import id_select, uuid_texts, with_id_texts
from bontrack.storage import record_json
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.storage.record_ids import RecordId, id_text, is_uuid_text, no_index
from demo_exports import bontrack

U1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
TEXT_16 = "P000000000000001"  # 16 characters: its UTF-8 is 16 bytes...
UUID_OF_TEXT_16 = str(uuid.UUID(bytes=TEXT_16.encode()))  # ...and these are those 16 bytes as a UUID
IDS = [
    U1,
    "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    UUID_OF_TEXT_16,
    TEXT_16,
    U1.upper(),  # not canonical (uppercase): kept as text
    U1[:-1] + "g",  # 36 characters, not hexadecimal
    "p-1",
    "",
    "é-01",
]
CLINIC = "16fd2706-8baf-433b-82eb-8c7fabf12345"
IMPORTED_CLINIC = "clinic-A"


def _insert(engine: Engine) -> None:
    table = PatientRow.__table__
    at = dt.datetime(2026, 12, 4, 9, 0)
    rows = [
        {"id": i, "version": 1, "clinic_id": CLINIC if n % 2 else IMPORTED_CLINIC, "withdrawn": False}
        | {"recorded_at": at, "recorded_by": "test", "reason": None, "data": {"n": n}}
        for n, i in enumerate(IDS)
    ]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)


def test_every_id_reads_back_and_is_found_as_written(engine: Engine) -> None:
    _insert(engine)
    table = PatientRow.__table__
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        assert sorted(conn.execute(select(table.c.id)).scalars()) == sorted(IDS)
        assert sorted(set(conn.execute(select(table.c.clinic_id)).scalars())) == sorted(
            {CLINIC, IMPORTED_CLINIC}
        )
        for n, i in enumerate(IDS):
            by_value = conn.execute(select(table.c.data).where(table.c.id == i)).scalars().all()
            assert [json.loads(d) if isinstance(d, str) else d for d in by_value] == [{"n": n}], i
            assert conn.execute(select(table.c.id).where(table.c.id.in_([i, "none"]))).scalars().all() == [i]
            literal = bindparam("wanted", i, type_=table.c.id.type, literal_execute=True)
            assert conn.execute(select(table.c.id).where(table.c.id == literal)).scalars().all() == [i]
            clinic = CLINIC if n % 2 else IMPORTED_CLINIC
            if sqlite:  # (SQLite's unary +: the value, but no index's column)
                unindexed = select(table.c.id).where(no_index(table.c.clinic_id) == clinic, table.c.id == i)
                assert conn.execute(unindexed).scalars().all() == [i]
        if sqlite:  # as stored: the canonical UUIDs as 16 bytes, every other id as its text
            kind = "typeof(id) || length(CAST(id AS BLOB))"
            stored = dict(conn.execute(text(f"SELECT data, {kind} FROM patient_versions")).all())
            kinds = {IDS[record_json.loads(d)["n"]]: kind for d, kind in stored.items()}
            for i in IDS:
                expected = "blob16" if is_uuid_text(i) else f"text{len(i.encode())}"
                assert kinds[i] == expected, i
        else:  # PostgreSQL: the text, as before
            raw = conn.execute(text("SELECT id FROM patient_versions")).scalars().all()
            assert sorted(raw) == sorted(IDS)


def test_the_reports_driver_read_decodes_every_id(tmp_path: Path) -> None:
    """The ADBC read (``id_select`` + ``with_id_texts``) gives every id's text: a UUID's 16 bytes
    as its canonical text, a text of 16 characters as that text (the flag, not the length), a
    missing id as missing, whichever the driver sees first."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ids.db'}")
    links = Table("links", MetaData(), Column("n", Integer), Column("ref", RecordId))
    links.create(engine)
    values = [*IDS, None]
    with engine.begin() as conn:
        conn.execute(insert(links), [{"n": n, "ref": i} for n, i in enumerate(values)])
    engine.dispose()
    with sqlite3.connect(tmp_path / "ids.db") as raw:  # a BLOB not of 16 bytes: not bontrack's, still shown
        raw.execute("INSERT INTO links VALUES (?, ?)", (len(values), b"abc"))
    values.append("abc")
    for order in ("n", "n DESC"):  # the driver types a column by its first rows
        sql = f"SELECT n, {id_select('ref', 'sqlite')} FROM links ORDER BY {order}"
        with adbc.connect(str(tmp_path / "ids.db")) as conn, conn.cursor() as cursor:
            cursor.execute(sql)
            table = with_id_texts(cursor.fetch_arrow_table())
        assert table.column_names == ["n", "ref"]
        assert dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True)) == dict(
            enumerate(values)
        )


def test_uuid_texts_are_pythons() -> None:
    rng = random.Random(7)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5_000)]
    raw = np.frombuffer(b"".join(u.bytes for u in ids), np.uint8).reshape(len(ids), 16)
    assert uuid_texts(raw).to_pylist() == [str(u) for u in ids]
    assert [id_text(u.bytes) for u in ids[:100]] == [str(u) for u in ids[:100]]


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as read without SQLAlchemy's types (ids decoded by ``id_text``), sorted;
    not the audit log's (each report read adds to it; the migration does not touch it). The due
    items as the schema before 0021 holds them (the downgrade to 0017 passes it): a flag's day
    in its ``snooze_until``, no ``shown_from``."""
    meta = MetaData()
    meta.reflect(engine)
    rows = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name != "alembic_version" and not name.startswith("audit_"):
                columns: list[Any] = [c for c in table.c if c.name != "shown_from"]
                if "shown_from" in table.c:
                    day = case(
                        (table.c.kind == "stop_review", table.c.shown_from), else_=table.c.snooze_until
                    )
                    columns = [day if c.name == "snooze_until" else c for c in columns]
                rows[name] = sorted(
                    tuple(repr(id_text(v)) for v in row) for row in conn.execute(select(*columns))
                )
    return rows


def _blobs(path: Path) -> int:
    with sqlite3.connect(path) as con:
        return int(
            con.execute("SELECT count(*) FROM patient_versions WHERE typeof(id) = 'blob'").fetchone()[0]
        )


def _file_size(path: Path) -> int:
    """The SQLite file's bytes and its write-ahead log's."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _report(url: str) -> dict[str, Any]:
    with transaction(make_engine(url)) as db:
        frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    return build_report(frames, load_knowledge(), today=dt.date(2026, 11, 23)).to_dict()


def _without_event_items(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """``rows`` without the due items of kind ``adverse_event`` (migration 0023)."""
    return rows | {"due_items": [r for r in rows["due_items"] if repr("adverse_event") not in r]}


def _migrate(url: str, revision: str, *, down: bool) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)
    engine.dispose()


def test_migration_0018_keeps_every_row_both_ways(db_url: str, tmp_path: Path) -> None:
    assert bontrack("--db", db_url, "demo", "--patients", "12", "--seed", "3").exit_code == 0
    engine = make_engine(db_url)
    before = _rows(engine)
    engine.dispose()
    sqlite = db_url.startswith("sqlite")
    path = Path(db_url.removeprefix("sqlite:///"))
    report = _report(db_url) if sqlite else None
    if sqlite:
        assert _blobs(path) == len(before["patient_versions"]) > 0
    _migrate(db_url, "0017_due_item_counts", down=True)
    engine = make_engine(db_url)
    # every row but the adverse event follow-up items, which migration 0023's downgrade removes
    # (a kind the code before it does not know); the upgrade back to head derives them again
    assert _rows(engine) == _without_event_items(before)
    engine.dispose()
    if sqlite:
        assert _blobs(path) == 0
        assert _report(db_url) == report  # the report read of text ids: the same report
    _migrate(db_url, "head", down=False)
    engine = make_engine(db_url)
    assert _rows(engine) == before
    engine.dispose()
    if sqlite:
        assert _blobs(path) == len(before["patient_versions"])
        assert _report(db_url) == report
    # the upgrade stored the ids shorter inside the file's pages; compacting gives the space back
    size = _file_size(path) if sqlite else 0
    compacted = bontrack("--db", db_url, "db", "compact")
    assert compacted.exit_code == 0, compacted.output
    engine = make_engine(db_url)
    assert _rows(engine) == before
    engine.dispose()
    if sqlite:
        assert _file_size(path) < size * 0.95, compacted.output
        assert " MB -> " in compacted.output
    else:
        assert "vacuumed and analysed" in compacted.output
