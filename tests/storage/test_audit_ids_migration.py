"""Migration 0016 (issue 18, item 3) stores an existing audit log's record ids as bytes and back:
no entry is lost or changed. The whole log as the view reads it (every fact of every entry, in
order), the number of entries and packs, and the packs filed by record are the same after the
upgrade and after the downgrade; the packs of UUID-shaped ids become 17 bytes an entry, the others
keep their JSON text, and an empty ``extra`` is NULL. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from alembic import command
from sqlalchemy import Engine, text

from bontrack.audit.service import entries, page_entries
from bontrack.storage import audit_ids
from bontrack.storage.engine import _alembic_config, make_engine, transaction

BEFORE = "0015_session_fields"
U1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
U2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
U3 = "16fd2706-8baf-433b-82eb-8c7fabf12345"
TEXTS = ["ann@example.org", "read", "update", "patient", "ok", "denied", "login", "wrong password"]
# (clinic, actor, action, record type, detail, outcome, ids as 0015 and earlier stored them, extra)
PACKS: list[tuple[str, int, int, int | None, int | None, int, str | None, str | None]] = [
    ("c-1", 1, 2, 4, None, 5, json.dumps([[U1, 1], [U2, 3], [U3, None]]), "null"),  # a chart read
    ("c-1", 1, 2, 4, None, 5, json.dumps([[U1, 300], [U2, 1]]), "null"),  # a version above a byte
    ("c-2", 1, 2, 4, None, 5, json.dumps([["p-1", 2], [U1.upper(), 1]]), "null"),  # imported ids
    ("c-1", 1, 3, 4, None, 5, json.dumps([[U2, 2]]), json.dumps({"before": {"a": 1}, "after": {"a": "é"}})),
    ("", 1, 7, None, 8, 6, None, "null"),  # a refused log-in: no record, no clinic
    ("c-2", 1, 2, 4, None, 5, json.dumps([[None, 4]]), None),  # a version without an id
]
FACTS = (
    "seq, pack, at, actor, action, clinic_id, record_type, record_id, version, before, after, detail, outcome"
)


def _migrate(engine: Engine, revision: str, down: bool = False) -> None:
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic_config(conn), revision)


def _log(engine: Engine) -> tuple[list[Any], list[Any], int]:
    with engine.connect() as conn:
        facts = [tuple(r) for r in conn.execute(text(f"SELECT {FACTS} FROM audit_log ORDER BY seq"))]
        filed = [tuple(r) for r in conn.execute(text("SELECT * FROM audit_record_packs ORDER BY 1, 2, 3"))]
        packs = int(conn.execute(text("SELECT count(*) FROM audit_packs")).scalar_one())
    return facts, filed, packs


def _stored(engine: Engine) -> list[tuple[Any, Any]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT ids, extra FROM audit_packs ORDER BY seq"))]


def test_migration_0016_keeps_every_entry_both_ways(db_url: str) -> None:
    engine = make_engine(db_url)
    postgres = engine.dialect.name == "postgresql"
    try:
        _migrate(engine, BEFORE)
        with engine.begin() as conn:
            for n, value in enumerate(TEXTS, start=1):
                conn.execute(text("INSERT INTO audit_texts (id, text) VALUES (:i, :t)"), {"i": n, "t": value})
            extra = "CAST(:extra AS json)" if postgres else ":extra"
            for n, (clinic, actor, action, kind, detail, outcome, ids, more) in enumerate(PACKS):
                conn.execute(
                    text(
                        "INSERT INTO audit_packs (clinic_id, at, actor, action, record_type, detail, "
                        f"outcome, ids, extra) VALUES (:c, :at, :a, :x, :k, :d, :o, :ids, {extra})"
                    ),
                    {"c": clinic, "at": 1_772_000_000_123_456 + n, "a": actor, "x": action, "k": kind}
                    | {"d": detail, "o": outcome, "ids": ids, "extra": more},
                )
            if not postgres:  # SQLite's writers file in batches (0013): file these now
                conn.execute(
                    text(
                        "INSERT OR IGNORE INTO audit_record_packs (record_key, pack) SELECT "
                        "substr(json_extract(e.value, '$[0]'), 1, 8), p.seq FROM audit_packs p, "
                        "json_each(p.ids) e"
                    )
                )
                conn.execute(text("UPDATE audit_filed SET upto = (SELECT max(seq) FROM audit_packs)"))
        before = _log(engine)
        assert len(before[0]) == 10 and before[2] == len(PACKS)

        _migrate(engine, "head")
        assert _log(engine) == before
        stored = _stored(engine)
        ids = [None if i is None else bytes(i) for i, _e in stored]
        assert ids[0] == audit_ids.encode([(U1, 1), (U2, 3), (U3, None)])
        assert len(ids[0] or b"") == 1 + 3 * 17
        for n in (1, 2, 3, 5):  # the JSON form where bytes cannot hold them; a lone UUID as bytes
            assert audit_ids.decode(ids[n] or b"") == [tuple(p) for p in json.loads(PACKS[n][6] or "")]
            assert (ids[n] or b"")[:1] == (b"\x00" if n == 3 else b"[")
        assert ids[4] is None
        assert [e is None for _i, e in stored] == [True, True, True, False, True, True]  # no 'null' text
        with transaction(engine) as db:  # the readers through the ORM: the same entries
            got = list(entries(db))
            assert [(e.record_id, e.version) for e in got] == [(f[7], f[8]) for f in before[0]]
            assert [e.seq for e in entries(db, record_id=U2)] == [f[0] for f in before[0] if f[7] == U2]
            total, page = page_entries(db, limit=4, offset=0)
            assert total == 10 and [e.seq for e in page] == [f[0] for f in before[0]][::-1][:4]

        _migrate(engine, BEFORE, down=True)
        assert _log(engine) == before
        back = _stored(engine)
        for (was, _e), pack in zip(back, PACKS, strict=True):
            assert (None if was is None else json.loads(was)) == (
                None if pack[6] is None else json.loads(pack[6])
            )

        _migrate(engine, "head")  # and up again
        assert _log(engine) == before
    finally:
        engine.dispose()
