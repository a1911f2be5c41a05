"""The migrations of the worklist's items: 0020 (the rules of knowledge 2026.12.5 changed what is
due without any record being written) and 0021 (the day a stop-and-review flag is shown from,
in a column of its own) leave the items the records now give, derived again by 0021; items
left from before are replaced. The downgrade puts a flag's day back where the code before 0021
reads it (``snooze_until``). Real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import Date, Engine, column, delete, func, inspect, select, table
from sqlalchemy.orm import Session

from bontrack.clinical.review import lapses_on
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.scheduling import due
from bontrack.scheduling.actions import record_action, work_list
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.scheduling.service import stop_and_review
from bontrack.scheduling.window import Window
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import ACTOR, DAY, World, clinic_world, saved_session

ONE_DAY = dt.timedelta(days=1)
# the table as the code before 0021 had it (its readers may not name shown_from)
BEFORE_0021 = table("due_items", column("item_key"), column("kind"), column("snooze_until", Date))


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as conn:
        getattr(command, how)(_alembic_config(conn), revision)


def _items(engine: Engine) -> list[tuple[str, str, str]]:
    with transaction(engine) as db:
        return sorted((r["patient_id"], r["item_key"], str(r["due_date"])) for r in due.kept(db, None))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(BEFORE_0021)).scalar_one())


def test_migration_0020__derives_the_items_again_from_the_records(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            load(db, actor="test:setup", batches=generate(12, seed=3))
        derived = _items(engine)
        assert len(derived) > 10
        _migrate(engine, "downgrade", "0019_packed_json")
        with engine.begin() as conn:  # items of older rules: here, none at all
            conn.execute(delete(BEFORE_0021))
        assert _count(engine) == 0
        _migrate(engine, "upgrade", "head")
        assert _items(engine) == derived
    finally:
        engine.dispose()


def _nprs(db: Session, world: World, day: dt.date, score: int, session_id: str | None = None) -> None:
    """A pain score: a baseline, or the 6-week visit of ``session_id``."""
    data = {"patient_id": world.patient_id, "episode_id": world.episode_id, "instrument": "nprs"}
    data |= {"date": day, "answers": {"1": score}, "session_id": session_id}
    data |= {"weeks_after_session": 6 if session_id else None}
    record_outcome(db=db, actor=ACTOR, data=OutcomeCreate.model_validate(data))


def _flagged_later(db: Session) -> tuple[World, str, dt.date]:
    """A patient whose two judged cycles brought no response and whose third awaits its visits:
    flagged once that cycle lapses (its session's id, and that day)."""
    world = clinic_world(db)
    days = [DAY + dt.timedelta(days=100 * n) for n in range(3)]
    sessions = [saved_session(db, world, day=day) for day in days]
    for session, day in zip(sessions[:2], days[:2], strict=True):
        _nprs(db, world, day, 8)
        _nprs(db, world, day + dt.timedelta(weeks=6), 7, session.id)  # 8 -> 7: no response
    weeks = load_knowledge().files.pathway.cycle_response.judged_at_weeks
    return world, sessions[-1].id, lapses_on(days[-1], weeks)


def _on(engine: Engine, today: dt.date) -> tuple[int, list[str], int]:
    """The worklist on ``today``: the flags it counts, the patients to stop and review, the items
    it counts as snoozed."""
    with transaction(engine) as db:
        worked = work_list(db=db, actor=ACTOR, today=today, window=Window(), limit=0)
        shown = stop_and_review(db=db, actor=ACTOR, today=today)
    return worked.review_total, [r.patient_id for r in shown], worked.snoozed


def _kept(engine: Engine) -> list[dict[str, Any]]:
    with transaction(engine) as db:
        return sorted(due.kept(db, None), key=lambda r: str(r["item_key"]))


def test_migration_0021__a_flag_is_shown_from_its_day_and_snoozed_items_stay_snoozed(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            world, session_id, lapses = _flagged_later(db)
        visits = [r for r in _kept(engine) if r["kind"] == "outcome_visit" and r["session_id"] == session_id]
        visit = min(visits, key=lambda r: r["due_date"])  # the last session's 2-week visit, snoozed
        until = visit["due_date"] + dt.timedelta(days=40)
        snooze = {"patient_id": world.patient_id, "item_key": visit["item_key"], "kind": "outcome_visit"}
        snooze |= {"action": "snoozed", "on": visit["due_date"], "snooze_until": until}
        with transaction(engine) as db:
            record_action(db=db, actor=ACTOR, data=WorklistActionCreate.model_validate(snooze))
        before = _kept(engine)
        flag = next(r for r in before if r["kind"] == "stop_review")
        assert (flag["session_id"], flag["shown_from"], flag["snooze_until"]) == (session_id, lapses, None)
        snoozed = next(r for r in before if r["item_key"] == visit["item_key"])
        assert (snoozed["snooze_until"], snoozed["shown_from"]) == (until, None)

        # the registry as the code before 0021 keeps it: the flag's day in its snooze_until
        _migrate(engine, "downgrade", "0020_due_rules")
        with engine.connect() as conn:
            kept: dict[str, Any] = {k: (kind, d) for k, kind, d in conn.execute(select(BEFORE_0021))}
        assert kept[flag["item_key"]] == ("stop_review", lapses)
        assert kept[visit["item_key"]] == ("outcome_visit", until)

        _migrate(engine, "upgrade", "head")
        assert _kept(engine) == before
        # the flag: hidden until the day its last cycle lapses, shown from then on
        assert _on(engine, lapses - ONE_DAY)[:2] == (0, [])
        assert _on(engine, lapses)[:2] == (1, [world.patient_id])
        assert _on(engine, lapses + dt.timedelta(days=30))[:2] == (1, [world.patient_id])
        # the snoozed visit: off the list until its day, back from then
        assert _on(engine, visit["due_date"])[2] == 1
        assert _on(engine, until)[2] == 0
    finally:
        engine.dispose()


def test_migration_0023__derives_the_adverse_event_items_and_the_downgrade_drops_them(db_url: str) -> None:
    """A registry whose open adverse events the code before 0023 did not follow up lists them once
    upgraded; the downgrade leaves only the kinds that code shows."""
    from bontrack.injections.schemas import AdverseEventCreate
    from bontrack.injections.service import report_adverse_event

    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            world = clinic_world(db)
            session = saved_session(db, world)
            event = AdverseEventCreate(
                patient_id=world.patient_id,
                session_id=session.id,
                event="neck weakness",
                onset_date=DAY + ONE_DAY,
                reported_date=DAY + ONE_DAY,
                severity="mild",
                status="ongoing",
            )
            event_id = report_adverse_event(db=db, actor=ACTOR, data=event).id
        derived = _items(engine)
        key = f"adverse_event:{event_id}"
        assert key in {k for _, k, _ in derived}
        _migrate(engine, "downgrade", "0022_link_revoked")
        with engine.connect() as conn:
            kinds = {k for (k,) in conn.execute(select(BEFORE_0021.c.kind))}
        assert kinds and "adverse_event" not in kinds
        _migrate(engine, "upgrade", "head")
        assert _items(engine) == derived
    finally:
        engine.dispose()


def test_migration_0024__the_adverse_events_partial_index_and_its_downgrade(db_url: str) -> None:
    """0024 gives the adverse events' follow-ups the partial index the worklist reads them from
    (listed whatever their due date); the downgrade drops it, the upgrade makes it again."""
    engine = make_engine(db_url)

    def indexes() -> set[str]:
        return {str(i["name"]) for i in inspect(engine).get_indexes("due_items")}

    try:
        _migrate(engine, "upgrade", "head")
        assert "ix_due_items_events" in indexes()
        _migrate(engine, "downgrade", "0023_adverse_event_items")
        assert "ix_due_items_events" not in indexes() and "ix_due_items_acted" in indexes()
        _migrate(engine, "upgrade", "head")
        assert "ix_due_items_events" in indexes()
    finally:
        engine.dispose()
