"""Migration 0010 (issue 18, a lean audit log) rewrites an existing log once: every entry of the
old one-row-per-entry table reads back through the view with the same facts, in the same order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, insert, text

from bontrack.audit.service import entries
from bontrack.storage.engine import _alembic_config, make_engine, transaction

AT = dt.datetime(2026, 3, 2, 9, 15, 30, 123456)
OLD = Table(
    "audit_log",
    MetaData(),
    Column("seq", Integer, primary_key=True),
    Column("at", DateTime),
    Column("actor", String(200)),
    Column("action", String(20)),
    Column("clinic_id", String(36)),
    Column("record_type", String(40)),
    Column("record_id", String(36)),
    Column("version", Integer),
    Column("before", JSON),
    Column("after", JSON),
    Column("detail", Text),
    Column("outcome", String(10)),
)


def _entry(n: int, **values: Any) -> dict[str, Any]:
    base = {"at": AT + dt.timedelta(microseconds=n), "actor": "user:a@example.org", "action": "read"}
    base |= {"clinic_id": "c-1", "record_type": "outcome", "record_id": f"o-{n}", "version": 1}
    base |= {"before": None, "after": None, "detail": None, "outcome": "ok"}
    return base | values


OLD_ROWS = [
    *(_entry(n) for n in range(5)),  # one chart read: five outcomes, one pack
    _entry(5, record_type="patient", record_id="p-1"),
    _entry(6, action="update", record_type="user", record_id="u-1", version=None)
    | {"before": {"active": True}, "after": {"email": "é@example.org", "active": False}},
    _entry(7, actor="someone", action="login", clinic_id=None, record_type=None, record_id=None)
    | {"version": None, "detail": "wrong password", "outcome": "denied"},
    _entry(8, at=AT + dt.timedelta(seconds=3)),  # a later second: a pack of its own
]


def test_migration_0010_keeps_every_entry_of_an_old_log(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0008")
            conn.execute(insert(OLD), OLD_ROWS)
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        with engine.connect() as conn:
            packs = conn.execute(text("SELECT count(*) FROM audit_packs")).scalar_one()
        assert packs == 5  # the five reads, the patient, the update, the log-in, the later read
        with transaction(engine) as db:
            got = entries(db)
        assert len(got) == len(OLD_ROWS)
        assert [e.seq for e in got] == sorted(e.seq for e in got)
        for entry, old in zip(got, OLD_ROWS, strict=True):
            facts = (
                "actor",
                "action",
                "clinic_id",
                "record_type",
                "record_id",
                "version",
                "detail",
                "outcome",
            )
            assert {k: getattr(entry, k) for k in facts} == {k: old[k] for k in facts}
            assert entry.at.replace(microsecond=0) == old["at"].replace(microsecond=0)
            assert (entry.before, entry.after) == (old["before"], old["after"])
    finally:
        engine.dispose()
