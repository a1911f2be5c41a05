"""Each derived table is derived again only for the patients touched in the tables it watches
(bontrack.storage.derived): an outcome written derives the patient's outcome scores and due items
again, not their session fields. On PostgreSQL the refresher with nothing to derive still takes
its locks for the patient, in the same order as the others, so every transaction locks a
patient's derived tables in one order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, event, text

from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.storage import derived
from bontrack.storage.engine import transaction
from factories import ACTOR, clinic_world, saved_session


def test_an_outcome_written_derives_its_scores_and_due_items_not_the_session_fields(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with transaction(engine) as db:
            data = {
                "patient_id": world.patient_id,
                "episode_id": world.episode_id,
                "instrument": "nprs",
                "date": dt.date(2026, 3, 4),
                "answers": {"1": 6},
            }
            record_outcome(db=db, actor=ACTOR, data=OutcomeCreate.model_validate(data))
            derived.refresh(db)
            if engine.dialect.name == "postgresql":
                mine = "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"
                assert db.execute(text(mine)).scalar_one() == 2 * 3, "each table's lock and the patient's"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    written = " ".join(s for s in statements if s.lstrip().upper().startswith(("DELETE", "INSERT")))
    assert "outcome_scores" in written and "due_items" in written
    assert "session_fields" not in " ".join(statements)
