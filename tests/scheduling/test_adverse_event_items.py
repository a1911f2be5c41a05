"""Adverse-event follow-up on the worklist (bontrack.scheduling.derive, kind ``adverse_event``): an
open or serious adverse event gives one item, due on the day it was reported, assigned to the
session's injector; a recovered event that is not serious gives none, nor does a withdrawn one;
a correction to recovered lapses an open event's item; Done closes it, and a serious event stays
until then whatever its status. The items kept as records are written equal the rebuild's. Real
SQLite and PostgreSQL (``engine``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bontrack.cli import app
from bontrack.injections.schemas import AdverseEventCreate, SessionRead
from bontrack.injections.service import report_adverse_event, update_adverse_event, withdraw_adverse_event
from bontrack.scheduling import due
from bontrack.scheduling.actions import Filters, record_action, work_list
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.scheduling.today import today_of_clinic
from bontrack.scheduling.window import Window
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, World, clinic_world, saved_session

ONSET = DAY + dt.timedelta(days=3)
REPORTED = DAY + dt.timedelta(days=5)
WINDOW = Window(look_back_days=28, look_ahead_days=7)
TODAY = REPORTED + dt.timedelta(days=2)


def _event(world: World, session: SessionRead, **changes: Any) -> AdverseEventCreate:
    data: dict[str, Any] = {
        "patient_id": world.patient_id,
        "session_id": session.id,
        "event": "dysphagia",
        "onset_date": ONSET,
        "reported_date": REPORTED,
        "severity": "moderate",
        "serious": False,
        "status": "ongoing",
        "outcome": "",
    }
    return AdverseEventCreate.model_validate(data | changes)


def _items(db: Session) -> list[dict[str, Any]]:
    kept = sorted(due.kept(db, None), key=lambda r: (r["patient_id"], r["item_key"]))
    assert kept == sorted(due.derive_clinic(db, None), key=lambda r: (r["patient_id"], r["item_key"]))
    return [r for r in kept if r["kind"] == "adverse_event"]


def _setup(engine: Engine, **changes: Any) -> tuple[World, SessionRead, str]:
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
        event = report_adverse_event(db=db, actor=ACTOR, data=_event(world, session, **changes))
    return world, session, event.id


def test_serious_event__gives_one_item_due_on_its_report_day_for_the_injector(engine: Engine) -> None:
    world, session, event_id = _setup(engine, serious=True, severity="severe")
    with transaction(engine) as db:
        (item,) = _items(db)
    assert item["item_key"] == f"adverse_event:{event_id}"
    assert item["due_date"] == REPORTED
    assert item["patient_id"] == world.patient_id
    assert item["session_id"] == session.id
    assert item["clinician_id"] == session.data.injector_id
    assert item["what"] == f"Follow up dysphagia (serious), began {ONSET}, still ongoing"


def test_open_event_not_serious__gives_one_item(engine: Engine) -> None:
    _setup(engine, status="recovering")
    with transaction(engine) as db:
        (item,) = _items(db)
    assert item["what"] == f"Follow up dysphagia, began {ONSET}, recovering"


def test_event_without_status__judged_by_its_note(engine: Engine) -> None:
    _setup(engine, status=None, outcome="still hoarse")
    with transaction(engine) as db:
        (item,) = _items(db)
    assert item["what"].endswith("status not recorded")
    _setup(engine, status=None, outcome="Resolved after a week")
    with transaction(engine) as db:
        assert len(_items(db)) == 1  # the second patient's event: closed by its note


def test_recovered_event_not_serious__gives_none(engine: Engine) -> None:
    world, session, open_id = _setup(engine, event="neck weakness")
    with transaction(engine) as db:
        for status in ("resolved", "resolvedWithSequelae"):
            data = _event(world, session, status=status)
            report_adverse_event(db=db, actor=ACTOR, data=data)
        # of the patient's three events, only the open one is followed up
        assert [r["item_key"] for r in _items(db)] == [f"adverse_event:{open_id}"]


def test_serious_event_already_recovered__still_gives_an_item(engine: Engine) -> None:
    _setup(engine, status="resolved", serious=True)
    with transaction(engine) as db:
        (item,) = _items(db)
    assert item["what"] == f"Follow up dysphagia (serious), began {ONSET}, resolved"


def test_withdrawn_event__gives_none(engine: Engine) -> None:
    _, _, event_id = _setup(engine, serious=True)
    with transaction(engine) as db:
        assert len(_items(db)) == 1
        withdraw_adverse_event(db=db, actor=ACTOR, event_id=event_id, reason="wrong patient")
    with transaction(engine) as db:
        assert _items(db) == []


def test_correction_to_recovered__removes_the_open_events_item(engine: Engine) -> None:
    world, session, event_id = _setup(engine)
    with transaction(engine) as db:
        assert len(_items(db)) == 1
        data = _event(world, session, status="resolved", outcome="gone after two weeks")
        update_adverse_event(db=db, actor=ACTOR, event_id=event_id, data=data, reason="recovered")
        assert _items(db) == []  # in the same unit of work
    with transaction(engine) as db:
        assert _items(db) == []
        listed = work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW).items
    assert not [i for i in listed if i.kind == "adverse_event"]


def test_done__closes_it_and_the_worklist_lists_it_until_then(engine: Engine) -> None:
    world, _, event_id = _setup(engine, serious=True, status="resolved")
    with transaction(engine) as db:
        worked = work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW)
        (item,) = [i for i in worked.items if i.kind == "adverse_event"]
        assert (item.status, item.event_id, item.key) == ("overdue", event_id, f"adverse_event:{event_id}")
        assert worked.by_status["overdue"] >= 1
        contacted = {"patient_id": world.patient_id, "item_key": item.key, "kind": "adverse_event"}
        action = WorklistActionCreate.model_validate(contacted | {"action": "contacted", "on": TODAY})
        record_action(db=db, actor=ACTOR, data=action)
        still = [
            i for i in work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW).items if i.key == item.key
        ]
        assert [i.last_action for i in still] == ["contacted"]
        done = WorklistActionCreate.model_validate(
            contacted | {"action": "done", "on": TODAY, "what": item.what}
        )
        record_action(db=db, actor=ACTOR, data=done)
    with transaction(engine) as db:
        worked = work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW)
        assert not [i for i in worked.items if i.kind == "adverse_event"]
        assert worked.closed >= 1
        (row,) = _items(db)
    assert row["last_action"] == "done"


def test_snoozed__comes_back_on_its_day(engine: Engine) -> None:
    world, _, event_id = _setup(engine)
    key = f"adverse_event:{event_id}"
    with transaction(engine) as db:
        data = {"patient_id": world.patient_id, "item_key": key, "kind": "adverse_event", "action": "snoozed"}
        until = TODAY + dt.timedelta(days=3)
        record_action(
            db=db,
            actor=ACTOR,
            data=WorklistActionCreate.model_validate(data | {"on": TODAY, "snooze_until": until}),
        )
        keys = {i.key for i in work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW).items}
        assert key not in keys
        keys = {i.key for i in work_list(db=db, actor=ACTOR, today=until, window=WINDOW).items}
        assert key in keys


LATE = DAY + dt.timedelta(days=74)  # the 2-week visit due 60 days before, the event reported 69 before


def _done(world: World, key: str, action: str = "done") -> WorklistActionCreate:
    data = {"patient_id": world.patient_id, "item_key": key, "kind": "adverse_event", "action": action}
    return WorklistActionCreate.model_validate(data | {"on": LATE})


def test_open_event_reported_before_the_look_back__listed_not_counted_as_older(engine: Engine) -> None:
    """An open (or serious) event is listed whatever its due date, on every path of the list (all
    rows, a page, the filters); the outcome visits due before the look-back are still counted."""
    world, _, event_id = _setup(engine, serious=True)
    key = f"adverse_event:{event_id}"
    with transaction(engine) as db:
        since = WINDOW.since(LATE)
        kept = due.kept(db, None)
        old = [r for r in kept if r["kind"] not in ("adverse_event", "stop_review") and r["due_date"] < since]
        visits = {r["due_date"] for r in old if r["kind"] == "outcome_visit"}
        assert LATE - dt.timedelta(days=60) in visits  # the 2-week visit: counted, not listed
        worked = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW)
        assert worked.older == len(old)
        assert [(i.key, i.status) for i in worked.items if i.due_date < since] == [(key, "overdue")]
        assert worked.total == len(worked.items)
        assert worked.by_status["overdue"] == sum(1 for i in worked.items if i.status == "overdue")
        first = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW, limit=1)
        assert [i.key for i in first.items] == [key]  # the oldest overdue, first
        assert (first.total, first.older) == (worked.total, worked.older)
        pages = [
            i.key
            for at in range(0, worked.total, 2)
            for i in work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW, limit=2, offset=at).items
        ]
        assert pages == [i.key for i in worked.items]
        n = worked.by_status["overdue"]
        for rows in (None, 1):  # the home page: every row, or the first of each section
            home = today_of_clinic(
                db=db, actor=ACTOR, today=LATE, window=WINDOW, clinic_id=None, role=None, rows=rows
            )
            assert [i.key for i in home.overdue][:1] == [key] and len(home.overdue) == (rows or n)
            assert home.counts["overdue"] == n and home.worked.older == worked.older
        for filters, listed in (
            (Filters(kind="adverse_event"), True),
            (Filters(overdue=True), True),
            (Filters(clinician_id=world.clinician_id), True),
            (Filters(kind="outcome_visit"), False),
        ):
            some = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW, filters=filters)
            assert (key in {i.key for i in some.items}) is listed, filters
            assert some.total == len(some.items) and some.older == worked.older, filters
        everything = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW, everything=True)
        assert everything.older == 0 and key in {i.key for i in everything.items}


def test_event_reported_before_the_look_back__contacted_stays_done_leaves(engine: Engine) -> None:
    world, _, event_id = _setup(engine)
    key = f"adverse_event:{event_id}"
    with transaction(engine) as db:
        before = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW)
        record_action(db=db, actor=ACTOR, data=_done(world, key, "contacted"))
        contacted = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW)
        assert [i.last_action for i in contacted.items if i.key == key] == ["contacted"]
        record_action(db=db, actor=ACTOR, data=_done(world, key))
        done = work_list(db=db, actor=ACTOR, today=LATE, window=WINDOW)
    assert key not in {i.key for i in done.items}
    assert (done.total, done.older, done.closed) == (before.total - 1, before.older, before.closed + 1)


def test_due_command__lists_an_event_reported_before_the_look_back(engine: Engine, db_url: str) -> None:
    _, _, event_id = _setup(engine, serious=True)
    result = CliRunner().invoke(app, ["--db", db_url, "due", "--date", str(LATE), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert (rows[0]["kind"], rows[0]["event_id"], rows[0]["status"]) == ("adverse_event", event_id, "overdue")
    since = str(WINDOW.since(LATE))
    assert [r["kind"] for r in rows if r["due_date"] < since] == ["adverse_event"]  # the visits: counted
