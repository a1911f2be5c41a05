"""Migration 0012 (issue 18, bytes per patient) converts an existing registry without losing
anything: every version reads back with the same content (minified JSON on SQLite), the packs of
an existing audit log are filed by record, and the log filtered by record or actor gives what
the whole log filtered does. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Engine, inspect, text

from bontrack.audit.service import entries
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.storage.record_json import unpack_text

CLINIC = "c-1"
DATA = {"name": "Zoë Ødegård", "sex": "female", "score": 7.0, "small": 0.1, "list": [1, {"x": None}]}
# as an older bontrack stored it: blanks after ',' and ':', non-ASCII as \u escapes
OLD_TEXT = json.dumps(DATA)


def _migrate(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def test_migration_0012_keeps_every_version_and_files_the_existing_log(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "0011_due_items")
        with engine.begin() as conn:
            for version in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO patient_versions (id, version, clinic_id, withdrawn, recorded_at, "
                        "recorded_by, reason, data, record_number) VALUES ('p-1', :v, :c, false, "
                        "'2026-03-02 09:15:30', 'ann', NULL, :data, 'R1')"
                    ),
                    {"v": version, "c": CLINIC, "data": OLD_TEXT},
                )
        with engine.begin() as conn:  # the 0011 schema's log (packs, no record files), as 0011 wrote it
            for n, value in enumerate(("ann", "read", "patient", "ok", "bob", "update"), start=1):
                conn.execute(text("INSERT INTO audit_texts (id, text) VALUES (:i, :t)"), {"i": n, "t": value})
            for actor, action, ids in ((1, 2, '[["p-1",2],["p-2",1]]'), (5, 6, '[["p-1",2]]')):
                conn.execute(
                    text(
                        "INSERT INTO audit_packs (clinic_id, at, actor, action, record_type, outcome, ids) "
                        "VALUES (:c, 1772442930123456, :a, :x, 3, 4, :ids)"
                    ),
                    {"c": CLINIC, "a": actor, "x": action, "ids": ids},
                )
        with engine.connect() as conn:
            before_log = conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all()
        _migrate(engine, "head")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT version, data FROM patient_versions ORDER BY version")).all()
            assert conn.execute(text("SELECT * FROM audit_log ORDER BY seq")).all() == before_log
            filed = conn.execute(
                text("SELECT record_key, pack FROM audit_record_packs ORDER BY pack, record_key")
            )
            packs = [tuple(r) for r in filed]
        assert [v for v, _d in stored] == [1, 2]
        for _version, data in stored:
            # (packed since 0019 on SQLite: storage.record_json; unpacked, the text stored)
            as_text = (
                unpack_text(data)
                if isinstance(data, bytes)
                else data
                if isinstance(data, str)
                else json.dumps(data)
            )
            assert json.loads(as_text) == DATA
            if engine.dialect.name == "sqlite":
                # minified: the same document, blanks gone, number texts and escapes kept
                assert as_text == json.dumps(DATA, separators=(",", ":"))
        assert sorted(packs) == [("p-1", 1), ("p-1", 2), ("p-2", 1)]  # the reads' pack, the update's
        with transaction(engine) as db:
            everything = list(entries(db))
            for record_id in ("p-1", "p-2"):
                got = [(e.seq, e.actor, e.record_id) for e in entries(db, record_id=record_id)]
                assert got == [(e.seq, e.actor, e.record_id) for e in everything if e.record_id == record_id]
            assert [e.action for e in entries(db, actor="bob")] == ["update"]
        indexes = {
            i["name"]
            for t in ("outcome_versions", "injection_session_versions")
            for i in inspect(engine).get_indexes(t)
        }
        assert "ix_outcome_versions_clinic_id" not in indexes
        assert "ix_outcome_versions_clinic_id_recorded_at" in indexes
        # and back: the indexes return, the record files go
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0011_due_items")
        assert "audit_record_packs" not in inspect(engine).get_table_names()
        indexes = {i["name"] for i in inspect(engine).get_indexes("outcome_versions")}
        assert "ix_outcome_versions_clinic_id" in indexes
    finally:
        engine.dispose()
