"""Each version's JSON packed on SQLite (bontrack.storage.record_json, migration 0019; issue 18, the
bytes a patient): stored as a tag byte and a zstd frame made with a shipped dictionary, read back
as the same document by every reader (the ORM, the chart's raw read, SQL through
``bontrack_json``, the export); text stored before the migration or by another program still
reads; the migration keeps every document both ways; PostgreSQL keeps its JSON."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text, update

from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.record_reads import get_read
from bontrack.storage import record_json
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.storage.record_json import json_of, json_text, loads, pack, unpack, unpack_text
from demo_exports import bontrack

# The shipped dictionary never changes: every BLOB stored with tag 1 needs exactly these bytes
DICTIONARY_1_SHA256 = "31c76aba0174fb0f69845da934784f6ab9382555660f002a38e26ae143ff670b"

TABLES = "select name from sqlite_master where type = 'table' and name like '%_versions'"
DAY = "2026-11-23"
TABLES = "select name from sqlite_master where type = 'table' and name like '%_versions'"
DAY = "2026-11-23"
DOCUMENTS: list[Any] = [
    {"patient_id": "5ad97fbf-6eea-42ab-8bbd-cd90267c67c8", "date": "2025-03-22", "answers": {"1": 7}},
    {"notes": "é, ü, 漢字 and an emoji 🙂", "nested": [1, 2.5, None, True, {"k": ""}]},
    {},
    {"long": "x" * 100_000},
]


def test_the_shipped_dictionary_is_the_one_tag_1_names() -> None:
    shipped = (resources.files("bontrack.storage") / record_json.DICTIONARY_1).read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == DICTIONARY_1_SHA256
    assert len(shipped) == 32_768


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_document_packs_and_unpacks_to_its_text(document: Any) -> None:
    stored = json_text(document)
    packed = pack(stored)
    assert packed[0] == record_json.TAG_1
    assert unpack(packed) == stored.encode()
    assert unpack_text(packed) == stored
    assert loads(packed) == document


def test_a_record_packs_to_a_fraction_of_its_text() -> None:
    outcome = {
        "patient_id": "5ad97fbf-6eea-42ab-8bbd-cd90267c67c8",
        "episode_id": "5792d09b-8018-4c7c-abe9-bb5c54713c96",
        "instrument": "ndi",
        "date": "2025-03-22",
        "answers": {str(i): i % 3 for i in range(1, 11)},
        "session_id": None,
        "weeks_after_session": None,
        "scoring": {
            "scores": {"total": 10.0, "percent": 20.0, "raw_sum": 10.0},
            "answered": 10,
            "missing": [],
            "band": "mild",
            "reason": None,
            "scorer_version": "1.0.0",
        },
        "patient_reported": False,
    }
    stored = json_text(outcome)
    # the two UUIDs (72 characters of random digits) are most of what is left
    assert len(pack(stored)) < 0.45 * len(stored.encode())


def test_what_is_not_a_packed_blob_is_handed_on_as_it_is() -> None:
    assert unpack('{"a":1}') == '{"a":1}'
    assert unpack(None) is None
    assert unpack({"decoded": "by psycopg"}) == {"decoded": "by psycopg"}
    assert loads({"decoded": "by psycopg"}) == {"decoded": "by psycopg"}
    # a BLOB bontrack did not write (another tag, or tag 1 and no frame): its bytes, unread
    assert unpack(b"\x02abc") == b"\x02abc"
    assert unpack(b"\x01not a frame") == b"\x01not a frame"
    assert unpack_text(b"\x01\xff\xfe") == "\x01\ufffd\ufffd"
    with pytest.raises(ValueError):
        loads(b"\x01not a frame")


@pytest.fixture
def engine(db_url: str) -> Engine:
    return make_engine(db_url)


def _stored(engine: Engine, record_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("select data from patient_versions where id = :id"),
            {
                "id": record_id
                if engine.dialect.name != "sqlite"
                else bytes.fromhex(record_id.replace("-", ""))
            },
        ).scalar_one()


def test_a_saved_version_is_stored_packed_on_sqlite_and_read_back_by_every_reader(engine: Engine) -> None:
    assert bontrack("--db", str(engine.url), "demo", "--patients", "3", "--seed", "5").exit_code == 0
    with transaction(engine) as db:
        row = db.scalars(select(PatientRow).limit(1)).one()
        record_id, data = row.id, dict(row.data)
        name = data["name"]
        # SQL reads the content through json_of (bontrack_json on SQLite, the column elsewhere)
        found = db.scalars(
            select(PatientRow.id).where(json_of(PatientRow.data)["name"].as_string() == name)
        ).all()
        assert record_id in found
        # the chart's reader (raw, unpacked, validated as the schema) and the ORM's agree
        read = get_read(db, row_cls=PatientRow, schema=PatientCreate, record_id=record_id, actor="test")
        assert read.data.model_dump(mode="json", exclude_unset=True) == data
    stored = _stored(engine, record_id)
    if engine.dialect.name == "sqlite":
        assert isinstance(stored, bytes) and stored[0] == record_json.TAG_1
        assert loads(stored) == data
        assert len(stored) < len(json_text(data).encode())
    else:  # PostgreSQL: its JSON column, as before
        assert stored == data


def test_text_stored_by_another_program_still_reads(engine: Engine) -> None:
    """A registry written before migration 0019, or a row another program wrote: JSON text."""
    assert bontrack("--db", str(engine.url), "demo", "--patients", "2", "--seed", "6").exit_code == 0
    with transaction(engine) as db:
        row = db.scalars(select(PatientRow).limit(1)).one()
        record_id, data = row.id, dict(row.data)
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path is not None
        with sqlite3.connect(path) as con:
            con.execute(
                "update patient_versions set data = ? where id = ?",
                (json.dumps(data), bytes.fromhex(record_id.replace("-", ""))),
            )
        assert isinstance(_stored(engine, record_id), str)
    engine.dispose()
    with transaction(engine) as db:
        assert dict(db.scalars(select(PatientRow).where(PatientRow.id == record_id)).one().data) == data
        read = get_read(db, row_cls=PatientRow, schema=PatientCreate, record_id=record_id, actor="test")
        assert read.data.model_dump(mode="json", exclude_unset=True) == data
        assert db.scalar(
            select(func.count()).where(json_of(PatientRow.data)["name"].as_string() == data["name"])
        )
        # an update through SQLAlchemy stores it packed again
        db.execute(update(PatientRow).where(PatientRow.id == record_id).values(data=data))
    if engine.dialect.name == "sqlite":
        assert isinstance(_stored(engine, record_id), bytes)


def _migrate(url: str, revision: str, *, down: bool) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)
    engine.dispose()


def _record_tables(con: sqlite3.Connection) -> list[str]:
    """The record tables' names, ``bontrack_json`` registered on ``con``."""
    con.create_function("bontrack_json", 1, unpack_text, deterministic=True)
    return [r[0] for r in con.execute(TABLES)]


def _documents(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Every record table's (id, content as stored text), unpacked, sorted."""
    with sqlite3.connect(path) as con:
        tables = _record_tables(con)
        return {
            t: sorted(con.execute(f"select hex(id), bontrack_json(data) from {t}").fetchall()) for t in tables
        }


def _stored_types(path: Path) -> set[str]:
    with sqlite3.connect(path) as con:
        return {r[0] for r in con.execute("select distinct typeof(data) from outcome_versions")}


def test_migration_0019_keeps_every_document_both_ways(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    url = f"sqlite:///{path}"
    assert bontrack("--db", url, "demo", "--patients", "8", "--seed", "4").exit_code == 0
    before = _documents(path)
    assert _stored_types(path) == {"blob"}
    report = bontrack("--db", url, "report", "--json", "--date", DAY, "--out", str(tmp_path / "a.json"))
    assert report.exit_code == 0, report.output
    _migrate(url, "0018_ids_as_bytes", down=True)
    assert _stored_types(path) == {"text"}
    assert _documents(path) == before
    _migrate(url, "head", down=False)
    assert _stored_types(path) == {"blob"}
    assert _documents(path) == before
    again = bontrack("--db", url, "report", "--json", "--date", DAY, "--out", str(tmp_path / "b.json"))
    assert again.exit_code == 0, again.output
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_a_demo_registrys_json_takes_under_a_third_of_its_text(tmp_path: Path) -> None:
    """The dictionary was trained on the seed-1 demo; this is another seed's."""
    path = tmp_path / "r.db"
    assert bontrack("--db", f"sqlite:///{path}", "demo", "--patients", "40", "--seed", "7").exit_code == 0
    with sqlite3.connect(path) as con:
        tables = _record_tables(con)
        packed = plain = 0
        for t in tables:
            a, b = con.execute(
                "select coalesce(sum(length(data)), 0), "
                f"coalesce(sum(length(cast(bontrack_json(data) as blob))), 0) from {t}"
            ).fetchone()
            packed, plain = packed + a, plain + b
    assert plain > 0
    assert packed < plain / 3, (packed, plain)


def test_the_decompressor_that_keeps_the_gil_gives_the_zstandard_modules_bytes() -> None:
    """On Linux the system's libzstd is called holding the GIL (record_json._HeldDecompressor:
    the zstandard module lets it go around each ~1 us call, which cost the 32-thread web server
    20% more CPU a chart); both give the same bytes, and what it cannot take falls back."""
    if sys.platform == "linux":
        assert record_json._held is not None  # libzstd1: apt itself needs it
    held = record_json._held
    if held is None:
        pytest.skip("no system libzstd: the zstandard module is used")
    documents = [*DOCUMENTS, {"n": list(range(40_000))}]  # the last: larger than the buffer
    for document in documents:
        stored = json_text(document)
        frame = pack(stored)[1:]
        by_module = record_json._decompressor().decompress(frame)
        assert by_module == stored.encode()
        if len(by_module) <= held.BUFFER:
            assert held.decompress(frame) == by_module
        else:
            assert held.decompress(frame) is None  # (unpack then asks the module)
        assert unpack(pack(stored)) == stored.encode()
    assert held.decompress(b"not a frame") is None
    # each thread its own context
    results: list[bytes | None] = []
    frame = pack(json_text(DOCUMENTS[1]))[1:]
    threads = [threading.Thread(target=lambda: results.append(held.decompress(frame))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [json_text(DOCUMENTS[1]).encode()] * 8
