"""The bytes of an audit pack's record ids (bontrack.storage.audit_ids, migration 0016): every
list of (id, version) pairs reads back as it was written, UUID-shaped ids take 17 bytes an entry,
any other id or version still round-trips (the JSON form), and the view ``audit_log`` and the
filing by record decode the stored bytes in SQL exactly as the codec does (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from bontrack.audit.service import entries
from bontrack.storage import audit_ids
from bontrack.storage.audit_log import log
from bontrack.storage.audit_packs import file_records
from bontrack.storage.engine import transaction

U1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
U2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
ODD = [
    [(U1, 1), (U2, None)],  # binary
    [(U1, 254), (U1, 0)],  # the largest version a byte holds; a record named twice
    [(U1, 255)],  # a version above 254: JSON
    [(U1.upper(), 1)],  # not as bontrack makes them (upper case): JSON, kept as written
    [("{" + U1 + "}", 1)],
    [(U1.replace("-", ""), 1)],  # 32 hex digits, no dashes
    [("p-1", 2), (U2, 3)],  # one odd id makes the whole pack JSON
    [("", 1)],
    [("Zoë/ü ∑ \"'\\", None)],
    [(None, 3)],  # a version without an id
    [("12345678-1234-1234-1234-1234567890ab\n", 1)],  # a trailing newline is not UUID-shaped
    [(U1, 100000)],
]


@pytest.mark.parametrize("pairs", ODD, ids=[str(i) for i in range(len(ODD))])
def test_odd_ids_round_trip(pairs: list[tuple[Any, Any]]) -> None:
    stored = audit_ids.encode(pairs)
    assert audit_ids.decode(stored) == pairs
    assert audit_ids.count(stored) == len(pairs)


def test_uuid_ids_take_17_bytes_an_entry_and_others_the_json_text() -> None:
    pairs = [(str(uuid.uuid4()), v) for v in (1, 2, None, 254)]
    assert len(audit_ids.encode(pairs)) == 1 + 17 * 4
    assert audit_ids.encode(pairs)[0] == audit_ids.BINARY
    assert audit_ids.encode([("p-1", 2)]) == b'[["p-1",2]]'  # the text the packs stored before 0016
    assert audit_ids.decode(b'[["p-1",2],["p-2",null]]') == [("p-1", 2), ("p-2", None)]


def test_damaged_bytes_are_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="not 1 \\+ 17 an entry"):
        audit_ids.decode(b"\x00" + bytes(16))
    with pytest.raises(ValueError, match="empty"):
        audit_ids.decode(b"")


_uuids = st.uuids().map(str)
_ids = st.one_of(_uuids, st.text(max_size=40), st.none(), _uuids.map(str.upper))
_versions = st.one_of(st.none(), st.integers(0, 254), st.integers(-(2**40), 2**40))


@given(st.lists(st.tuples(_ids, _versions), min_size=1, max_size=40))
def test_any_pairs_round_trip(pairs: list[tuple[Any, Any]]) -> None:
    stored = audit_ids.encode(pairs)
    assert audit_ids.decode(stored) == pairs
    assert audit_ids.count(stored) == len(pairs)
    binary = all(isinstance(i, str) and i == i.lower() and _is_uuid(i) for i, _v in pairs) and all(
        v is None or 0 <= v <= 254 for _i, v in pairs
    )
    assert (stored[0] == audit_ids.BINARY) == binary
    if not binary:
        assert json.loads(stored) == [list(p) for p in pairs]


@given(st.lists(st.tuples(_uuids, st.one_of(st.none(), st.integers(0, 254))), min_size=1, max_size=1024))
def test_uuid_pairs_are_binary(pairs: list[tuple[str, int | None]]) -> None:
    stored = audit_ids.encode(pairs)
    assert len(stored) == 1 + 17 * len(pairs)
    assert audit_ids.decode(stored) == pairs


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


# ---- the SQL reading the same bytes -------------------------------------------------------------


def test_the_view_and_the_filing_read_what_was_written(engine: Engine) -> None:
    written: list[tuple[Any, Any]] = []
    with transaction(engine) as db:
        for n, pairs in enumerate(ODD):
            for record_id, version in pairs:
                log(
                    db,
                    actor=f"user{n}@example.org",  # one pack per list
                    action="read",
                    record_type="patient",
                    record_id=record_id,
                    version=version,
                    clinic_id="c-1",
                )
                written.append((record_id, version))
        log(db, actor="x@example.org", action="login", clinic_id=None, detail="no record")
    with transaction(engine) as db:
        got = list(entries(db))
        file_records(db)
    assert [(e.record_id, e.version) for e in got[:-1]] == written
    assert (got[-1].record_id, got[-1].version, got[-1].action) == (None, None, "login")
    with engine.connect() as conn:
        packs = conn.execute(
            text("SELECT seq, ids FROM audit_packs WHERE ids IS NOT NULL ORDER BY seq")
        ).all()
        filed = {tuple(r) for r in conn.execute(text("SELECT record_key, pack FROM audit_record_packs"))}
        assert conn.execute(text("SELECT count(*) FROM audit_packs WHERE extra IS NOT NULL")).scalar() == 0
    assert [p for _s, ids in packs for p in audit_ids.decode(ids)] == written
    named = {(i[:8], seq) for seq, ids in packs for i, _v in audit_ids.decode(ids) if i is not None}
    assert filed == named
    assert any(bytes(ids)[0] == audit_ids.BINARY for _s, ids in packs)
    assert any(bytes(ids)[0] != audit_ids.BINARY for _s, ids in packs)


@given(st.lists(st.tuples(_uuids, st.one_of(st.none(), st.integers(0, 254))), min_size=1, max_size=30))
def test_the_sqlite_view_decodes_any_binary_pack(pairs: list[tuple[str, int | None]]) -> None:
    import sqlite3

    from bontrack.storage.audit_ids import SQLITE_EACH, SQLITE_KEY, sql

    # the view's expressions over one stored value (migration 0016 makes the view of the same)
    migration = _migration()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE audit_packs (seq INTEGER PRIMARY KEY, ids BLOB)")
    conn.execute("INSERT INTO audit_packs VALUES (1, ?)", (audit_ids.encode(pairs),))
    rows = conn.execute(
        f"SELECT {migration._sq(migration._SQ_ID)}, {migration._sq(migration._SQ_VERSION)}, "
        f"{sql(SQLITE_KEY)} FROM audit_packs p, {sql(SQLITE_EACH)} e ORDER BY e.key"
    ).fetchall()
    assert [(i, v) for i, v, _k in rows] == pairs
    assert [k for _i, _v, k in rows] == [i[:8] for i, _v in pairs]


def _migration() -> Any:
    import importlib

    return importlib.import_module("bontrack.migrations.versions.0016_audit_ids_binary")
