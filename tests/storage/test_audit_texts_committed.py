"""A new audit text (an actor's name, a purpose: bontrack.storage.audit_packs.text_numbers) is
committed at once on PostgreSQL, in a transaction of its own: a second unit of work needing the
same text while the first is still open gets its number without waiting for the first's commit.
Inserted by the unit of work itself, the second waited on the first's uncommitted row, and a first
that meanwhile waited for a lock the second held (a patient's derived rows) deadlocked with it
(tests/scheduling/test_due_two_writers.py found it)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from bontrack.storage.audit_packs import text_numbers
from bontrack.storage.engine import transaction


def test_a_new_audit_text_is_committed_before_the_unit_of_work_that_added_it(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the unit of work inserts its texts itself")
    new = "test: a purpose never written before"
    seen: dict[str, int] = {}
    with transaction(engine) as first:
        numbers = text_numbers(first, {new})

        def second() -> None:
            with transaction(engine) as db:
                seen.update(text_numbers(db, {new, "test: another new one"}))

        other = threading.Thread(target=second)
        other.start()
        other.join(10)
        assert not other.is_alive(), "the second unit of work waited for the first's commit"
        assert seen[new] == numbers[new]
        first.rollback()  # the first unit of work rolls back: its text stays (not patient data)
    with engine.connect() as conn:
        kept = conn.execute(text("select id from audit_texts where text = :t"), {"t": new}).scalar_one()
    assert kept == numbers[new]
