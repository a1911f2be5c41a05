"""The due items kept as records are written (bontrack.scheduling.due) equal the derivation from
scratch after any sequence of writes through the services: sessions, outcomes (follow-ups and
baselines), corrections, withdrawals, therapy visits, worklist actions, patient corrections; in
single units of work, several writes a unit, savepoints rolled back and bulk blocks. One patient's
derivation (plain lists, a write's) equals the rebuild's (data frames) for every patient of demo
clinics, with outcomes added, corrected and withdrawn at random. Real SQLite and PostgreSQL
(``engine``)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from bontrack import clock, records
from bontrack.errors import InputError
from bontrack.injections.models import InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import (
    report_adverse_event,
    update_adverse_event,
    withdraw_adverse_event,
    withdraw_session,
)
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome, update_outcome, withdraw_outcome
from bontrack.patients import service as patients
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.scheduling import due
from bontrack.scheduling.actions import record_action, work_list
from bontrack.scheduling.models import DueItemRow
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.scheduling.window import Window
from bontrack.storage.bulk import bulk
from bontrack.storage.engine import transaction
from bontrack.storage.ids import ids_from
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from bontrack.therapy.service import create_plan, record_visit, withdraw_visit
from factories import ACTOR, DAY, World, clinic_world, saved_session

WRITES = 80
WORLDS = 3


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["clinic_id"], r["patient_id"], r["item_key"]))


def _same(db: Session) -> list[dict[str, Any]]:
    kept = _sorted(due.kept(db, None))
    assert kept == _sorted(due.derive_clinic(db, None))
    return kept


class Clinic:
    """The worlds (one patient each) and what was written for them, to choose the next write."""

    def __init__(self, worlds: list[World], rng: random.Random) -> None:
        self.worlds = worlds
        self.rng = rng
        self.sessions: dict[str, list[tuple[str, dt.date]]] = {w.patient_id: [] for w in worlds}
        self.outcomes: list[tuple[World, str, OutcomeCreate]] = []
        self.visits: list[str] = []
        # each patient's plans: (id, start date, weeks), the world's own first
        self.plans: dict[str, list[tuple[str, dt.date, int]]] = {
            w.patient_id: [(w.plan_id, DAY, 6)] for w in worlds
        }
        self.spare: list[str] = []  # patients with no records (they may be withdrawn)
        self.events: list[tuple[str, AdverseEventCreate]] = []  # adverse events reported

    def world(self) -> World:
        return self.rng.choice(self.worlds)

    def session(self, db: Session) -> None:
        world = self.world()
        own = self.sessions[world.patient_id]
        if len(own) >= 3:
            return
        # 90 days apart (past the 84-day retreatment): a third session's 12-week outcome is before
        # 2026-12 (outcomes may not be dated after tomorrow)
        day = DAY + dt.timedelta(days=90 * len(own) + self.rng.randrange(0, 5))
        self.sessions[world.patient_id].append((saved_session(db, world, day=day).id, day))

    def outcome(self, db: Session) -> None:
        world = self.world()
        own = self.sessions[world.patient_id]
        if not own:  # a baseline
            data = self._nprs(world, DAY - dt.timedelta(days=1))
        else:
            session_id, day = self.rng.choice(own)
            week = self.rng.choice((2, 6, 12))
            data = self._nprs(world, day + dt.timedelta(weeks=week), session_id=session_id, week=week)
        self.outcomes.append((world, record_outcome(db=db, actor=ACTOR, data=data).id, data))

    def _nprs(
        self, world: World, day: dt.date, session_id: str | None = None, week: int | None = None
    ) -> OutcomeCreate:
        answers = {"1": self.rng.choice((2, 6, 7, 8))}
        return OutcomeCreate.model_validate(
            {
                "patient_id": world.patient_id,
                "episode_id": world.episode_id,
                "instrument": "nprs",
                "date": day,
                "answers": answers,
                "session_id": session_id,
                "weeks_after_session": week,
            }
        )

    def correct_outcome(self, db: Session) -> None:
        if not self.outcomes:
            return
        _world, outcome_id, data = self.rng.choice(self.outcomes)
        changed = data.model_copy(update={"answers": {"1": self.rng.choice((1, 7, 9))}})
        if data.session_id is not None:
            changed = changed.model_copy(update={"weeks_after_session": self.rng.choice((2, 6, 12))})
        update_outcome(db=db, actor=ACTOR, outcome_id=outcome_id, data=changed, reason="typed wrong")

    def withdraw_outcome(self, db: Session) -> None:
        if self.outcomes:
            _world, outcome_id, _ = self.outcomes.pop(self.rng.randrange(len(self.outcomes)))
            withdraw_outcome(db=db, actor=ACTOR, outcome_id=outcome_id, reason="entered twice")

    def withdraw_session(self, db: Session) -> None:
        world = self.world()
        own = self.sessions[world.patient_id]
        if own:
            session_id, _ = own[-1]
            withdraw_session(db=db, actor=ACTOR, session_id=session_id, reason="wrong patient")
            own.pop()

    def visit(self, db: Session) -> None:
        world = self.world()
        plan_id, start, weeks = self.rng.choice(self.plans[world.patient_id])
        data = TherapyVisitCreate(  # (on a day of the plan that has one: refused, nothing kept)
            patient_id=world.patient_id,
            plan_id=plan_id,
            date=start + dt.timedelta(days=self.rng.randrange(0, 7 * weeks + 7)),
            therapist_id=world.clinician_id,
        )
        self.visits.append(record_visit(db=db, actor=ACTOR, data=data).id)

    def new_plan(self, db: Session) -> None:
        """A newer plan (the older one's last visit lapses once it is under way), now and then
        one that overlaps the last (refused, nothing kept)."""
        world = self.world()
        _, start, weeks = self.plans[world.patient_id][-1]
        day = start + dt.timedelta(days=7 * weeks + self.rng.randrange(-10, 120))
        data = TherapyPlanCreate(
            patient_id=world.patient_id,
            episode_id=world.episode_id,
            therapist_id=world.clinician_id,
            start_date=day,
            weeks=self.rng.randrange(1, 5),
            visits_per_week=self.rng.randrange(1, 3),
        )
        plan = create_plan(db=db, actor=ACTOR, data=data)
        self.plans[world.patient_id].append((plan.id, day, data.weeks))

    def withdraw_visit(self, db: Session) -> None:
        if self.visits:
            visit_id = self.visits.pop(self.rng.randrange(len(self.visits)))
            withdraw_visit(db=db, actor=ACTOR, visit_id=visit_id, reason="did not come")

    def act(self, db: Session) -> None:
        rows = due.kept(db, None)
        if not rows:
            return
        row = self.rng.choice(rows)
        action = (
            "reviewed"
            if row["kind"] == "stop_review"
            else self.rng.choice(("done", "contacted", "cancelled", "snoozed"))
        )
        on = DAY + dt.timedelta(days=self.rng.randrange(0, 200))
        data = WorklistActionCreate.model_validate(
            {
                "patient_id": row["patient_id"],
                "item_key": row["item_key"],
                "kind": row["kind"],
                "action": action,
                "on": on,
                "reason": "moved away" if action == "cancelled" else "",
                "snooze_until": on + dt.timedelta(days=9) if action == "snoozed" else None,
                "decision": "continue" if action == "reviewed" else None,
            }
        )
        record_action(db=db, actor=ACTOR, data=data)

    def adverse_event(self, db: Session) -> None:
        world = self.world()
        own = self.sessions[world.patient_id]
        if not own:
            return
        session_id, day = self.rng.choice(own)
        onset = day + dt.timedelta(days=self.rng.randrange(1, 10))
        data = AdverseEventCreate.model_validate(
            {
                "patient_id": world.patient_id,
                "session_id": session_id,
                "event": self.rng.choice(("dysphagia", "neck weakness", "headache")),
                "onset_date": onset,
                "reported_date": onset + dt.timedelta(days=self.rng.randrange(0, 5)),
                "severity": "moderate",
                "serious": self.rng.random() < 0.3,
                "status": self.rng.choice(("ongoing", "recovering", "resolved", "unknown", None)),
                "outcome": self.rng.choice(("", "resolved in a week")),
            }
        )
        self.events.append((report_adverse_event(db=db, actor=ACTOR, data=data).id, data))

    def correct_event(self, db: Session) -> None:
        if self.events:
            event_id, data = self.rng.choice(self.events)
            status = self.rng.choice(("ongoing", "resolved", "resolvedWithSequelae"))
            changed = data.model_copy(update={"status": status, "serious": self.rng.random() < 0.3})
            update_adverse_event(db=db, actor=ACTOR, event_id=event_id, data=changed, reason="seen again")

    def withdraw_event(self, db: Session) -> None:
        if self.events:
            event_id, _ = self.events.pop(self.rng.randrange(len(self.events)))
            withdraw_adverse_event(db=db, actor=ACTOR, event_id=event_id, reason="entered twice")

    def rename(self, db: Session) -> None:
        world = self.world()
        current = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        number = f"P-{self.rng.randrange(10_000):04d}-{world.patient_id[:4]}"
        data = current.data.model_copy(update={"record_number": number})
        patients.update_patient(db=db, actor=ACTOR, patient_id=world.patient_id, data=data, reason="typo")

    def spare_patient(self, db: Session) -> None:
        world = self.world()
        data = PatientCreate(
            record_number=f"S-{self.rng.randrange(10**6)}",
            name="Spare",
            birth_date=dt.date(1980, 1, 1),
            sex="male",
        )
        self.spare.append(
            patients.create_patient(db=db, actor=ACTOR, clinic_id=world.clinic_id, data=data).id
        )

    def withdraw_spare(self, db: Session) -> None:
        if self.spare:
            patient_id = self.spare.pop()
            patients.withdraw_patient(db=db, actor=ACTOR, patient_id=patient_id, reason="registered twice")

    def writes(self) -> list[tuple[Callable[[Session], None], int]]:
        return [
            (self.session, 5),
            (self.outcome, 8),
            (self.correct_outcome, 3),
            (self.withdraw_outcome, 2),
            (self.withdraw_session, 1),
            (self.visit, 3),
            (self.new_plan, 2),
            (self.withdraw_visit, 1),
            (self.act, 3),
            (self.adverse_event, 3),
            (self.correct_event, 2),
            (self.withdraw_event, 1),
            (self.rename, 1),
            (self.spare_patient, 1),
            (self.withdraw_spare, 1),
        ]

    def one(self, db: Session) -> None:
        writes, weights = zip(*self.writes(), strict=True)
        write = self.rng.choices(writes, weights=weights)[0]
        savepoint = db.begin_nested()
        try:
            write(db)
        except InputError:  # refused (a withdrawal others refer to, a blocked plan ...): nothing kept
            savepoint.rollback()
        else:
            savepoint.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_items__equal_the_derivation_from_scratch_after_random_writes(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    with transaction(engine) as db:
        worlds = [clinic_world(db, record_number=f"P-{n:03d}") for n in range(WORLDS)]
    clinic = Clinic(worlds, rng)
    written = 0
    while written < WRITES:
        unit = rng.randrange(1, 5)
        with transaction(engine) as db:
            if rng.random() < 0.25:  # a bulk block (the generator's and the import's writer)
                with bulk(db):
                    for _ in range(unit):
                        clinic.one(db)
            else:
                for _ in range(unit):
                    clinic.one(db)
                    if rng.random() < 0.3:  # read within the unit: kept up to date before reading
                        _same(db)
        written += unit
        with transaction(engine) as db:  # and as committed
            _same(db)
    with transaction(engine) as db:
        kinds = {r["kind"] for r in _same(db)}
        actions = {r["last_action"] for r in due.kept(db, None)}
    assert {"outcome_visit", "reinjection", "therapy_visit", "adverse_event"} <= kinds
    assert actions - {None}, "some items carry a worklist action"
    assert any(len(own) > 1 for own in clinic.plans.values()), "some patients have a newer plan"


def test_rebuild__derives_the_table_again_from_the_records(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
    with transaction(engine) as db:
        before = _same(db)
        db.execute(delete(DueItemRow.__table__))  # (a derived table: lost, it is derived again)
    with transaction(engine) as db:
        assert due.kept(db, world.clinic_id) == []
        assert due.rebuild(db) == len(before)
    with transaction(engine) as db:
        assert _sorted(due.kept(db, None)) == before


def test_withdrawn_session__its_items_leave_in_the_same_unit_of_work(engine: Engine) -> None:
    window = Window(look_back_days=28, look_ahead_days=7)
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world)
        listed = work_list(db=db, actor=ACTOR, today=DAY + dt.timedelta(weeks=2), window=window).items
        assert any(i.session_id == session.id for i in listed)
        withdraw_session(db=db, actor=ACTOR, session_id=session.id, reason="wrong patient")
        listed = work_list(db=db, actor=ACTOR, today=DAY + dt.timedelta(weeks=2), window=window).items
        assert not any(i.session_id == session.id for i in listed)
        left = db.scalar(
            select(func.count()).select_from(DueItemRow.__table__).where(DueItemRow.session_id == session.id)
        )
    assert left == 0


# ---- one patient's derivation (plain lists) against the rebuild's (frames), every demo patient ----

DEMO_PATIENTS = 30
DEMO_WRITES = 40


def _derived_alone(db: Session, clinic_id: str, patient_ids: list[str]) -> list[dict[str, Any]]:
    """Each patient derived on their own, as a write derives them (plain lists)."""
    kb = load_knowledge()
    rows = []
    for patient_id in patient_ids:
        rows += due.derive(due.load_facts(db, clinic_id, [patient_id]), kb, frames=False)
    return _sorted(rows)


class Outcomes:
    """NPRS scores added, corrected and withdrawn at random on a demo clinic's patients: baselines
    (some on a session's day, some on one day twice) and follow-ups at the judging weeks and others,
    with scores near the response threshold, so cycles flip between responded, not, and unjudged."""

    def __init__(self, db: Session, rng: random.Random) -> None:
        self.rng = rng
        self.episode = {r.patient_id: r.id for r in records.find_current(db, row_cls=EpisodeRow, actor=ACTOR)}
        self.sessions: dict[str, list[tuple[str, dt.date]]] = {}
        for r in records.find_current(db, row_cls=InjectionSessionRow, actor=ACTOR):
            self.sessions.setdefault(str(r.patient_id), []).append(
                (r.id, dt.date.fromisoformat(r.data["date"]))
            )
        self.added: list[tuple[str, OutcomeCreate]] = []

    def one(self, db: Session) -> None:
        write = self.rng.choice((self.add, self.add, self.add, self.correct, self.withdraw))
        savepoint = db.begin_nested()
        try:
            write(db)
        except InputError:  # refused (a date after today ...): nothing kept
            savepoint.rollback()
        else:
            savepoint.commit()

    def add(self, db: Session) -> None:
        patient_id = self.rng.choice(sorted(self.sessions))
        session_id, day = self.rng.choice(self.sessions[patient_id])
        if self.rng.random() < 0.3:  # a baseline: on the session's day or the day before
            data = self._nprs(patient_id, day - dt.timedelta(days=self.rng.choice((0, 0, 1))))
        else:
            week = self.rng.choice((2, 6, 6, 12, 12, 24))
            if day + dt.timedelta(weeks=week) > clock.today():  # not measured yet
                return
            data = self._nprs(patient_id, day + dt.timedelta(weeks=week), session_id, week)
        self.added.append((record_outcome(db=db, actor=ACTOR, data=data).id, data))

    def correct(self, db: Session) -> None:
        if self.added:
            outcome_id, data = self.rng.choice(self.added)
            changed = data.model_copy(update={"answers": {"1": self.rng.randrange(0, 11)}})
            update_outcome(db=db, actor=ACTOR, outcome_id=outcome_id, data=changed, reason="typed wrong")

    def withdraw(self, db: Session) -> None:
        rows = records.find_current(db, row_cls=OutcomeRow, actor=ACTOR)
        if rows:
            outcome_id = self.rng.choice(rows).id
            withdraw_outcome(db=db, actor=ACTOR, outcome_id=outcome_id, reason="entered twice")
            self.added = [(i, d) for i, d in self.added if i != outcome_id]

    def _nprs(
        self, patient_id: str, day: dt.date, session_id: str | None = None, week: int | None = None
    ) -> OutcomeCreate:
        return OutcomeCreate.model_validate(
            {
                "patient_id": patient_id,
                "episode_id": self.episode[patient_id],
                "instrument": "nprs",
                "date": day,
                "answers": {"1": self.rng.choice((2, 4, 5, 6, 7, 8, 10))},  # 7 -> 5 is not 30%, 7 -> 4 is
                "session_id": session_id,
                "weeks_after_session": week,
            }
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_patients_derivation__equals_the_rebuild_for_every_demo_patient(
    engine: Engine, seed: int
) -> None:
    with transaction(engine) as db:
        summary = load(db, actor="test:setup", batches=generate(DEMO_PATIENTS, seed=seed))
    clinic_id = summary.clinic_id
    assert clinic_id is not None
    rng = random.Random(seed)
    seen_review: set[str] = set()
    seen_events: set[str] = set()
    with transaction(engine) as db:
        outcomes = Outcomes(db, rng)
    for step in range(DEMO_WRITES // 4 + 1):
        with transaction(engine) as db:
            if step:  # the demo as generated first, then after each few writes
                for _ in range(4):
                    outcomes.one(db)
            patient_ids = sorted(r.id for r in records.find_current(db, row_cls=PatientRow, actor=ACTOR))
            rebuilt = _sorted(due.derive_clinic(db, clinic_id))  # over frames
            assert _derived_alone(db, clinic_id, patient_ids) == rebuilt
            assert _sorted(due.kept(db, clinic_id)) == rebuilt  # kept by the writes, one patient each
            seen_review |= {r["patient_id"] for r in rebuilt if r["kind"] == "stop_review"}
            seen_events |= {r["item_key"] for r in rebuilt if r["kind"] == "adverse_event"}
    assert seen_review, "some patient is due for stop-and-review (the rule is exercised)"
    assert seen_events, "some adverse event is open or serious (followed up)"


def test_plain_and_frame_rules__agree_on_ties_and_edges(engine: Engine) -> None:
    """Two baselines on one day and two scores at one week (of each, the one whose id sorts last
    counts, in both forms), a week-12 score judged when week 6 has none, exactly 30% (a response)
    and a baseline of 0 (never judged)."""
    with transaction(engine) as db:
        world = clinic_world(db)
        sessions = [saved_session(db, world, day=DAY + dt.timedelta(days=100 * n)) for n in range(3)]

    def nprs(db: Session, n: int, days: int, score: int, week: int | None = None, *, last: str = "") -> str:
        day = DAY + dt.timedelta(days=100 * n + 7 * (week or 0) + days)
        data = OutcomeCreate.model_validate(
            {
                "patient_id": world.patient_id,
                "episode_id": world.episode_id,
                "instrument": "nprs",
                "date": day,
                "answers": {"1": score},
                "session_id": sessions[n].id if week else None,
                "weeks_after_session": week,
            }
        )
        # its id first or last among the patient's ("0": before every random id, "f": after)
        head = {"": None, "0": "00000000-0000", "f": "ffffffff-0000", "ff": "ffffffff-ffff"}[last]
        random_id = str(uuid.uuid4())
        with ids_from(lambda: random_id if head is None else head + random_id[13:]):
            return record_outcome(db=db, actor=ACTOR, data=data).id

    def stop_review() -> list[str | None]:
        with transaction(engine) as db:
            rebuilt = _same(db)  # kept (plain, as written) == rebuilt (frames)
            assert _derived_alone(db, world.clinic_id, [world.patient_id]) == rebuilt
            return [r["session_id"] for r in rebuilt if r["kind"] == "stop_review"]

    with transaction(engine) as db:
        nprs(db, 0, 0, 8)
        nprs(db, 0, 0, 6, 6)  # the first cycle: 8 -> 6, no response
        nprs(db, 1, 0, 10)
        nprs(db, 1, 0, 1, 2)  # week 2: never judged on
        nprs(db, 1, 0, 8, 12)  # week 12 (no week 6): 10 -> 8, no response
        nprs(db, 2, 0, 10, last="0")
        nprs(db, 2, 0, 5, last="f")  # the same day, its id last: the baseline (5, not 10)
        nprs(db, 2, 0, 3, 6, last="0")
        nprs(db, 2, 0, 6, 6, last="f")  # week 6 twice, its id last: 5 -> 6 (not 3), no response
    assert stop_review() == [sessions[2].id]
    with transaction(engine) as db:
        exactly = nprs(db, 1, 0, 7, 12, last="f")  # 10 -> 7: exactly 30%, a response
    assert stop_review() == []
    with transaction(engine) as db:
        withdraw_outcome(db=db, actor=ACTOR, outcome_id=exactly, reason="entered twice")
    assert stop_review() == [sessions[2].id]
    with transaction(engine) as db:
        nprs(db, 2, 0, 0, last="ff")  # a baseline of 0: the third cycle is not judged
    # Until its week-12 visit has passed it breaks the run (it may yet be judged); then it was
    # missed and is skipped: the flag is kept, shown from that day (since session 25; it was gone)
    assert stop_review() == [sessions[2].id]
    with transaction(engine) as db:
        flags = [r for r in _same(db) if r["kind"] == "stop_review"]
    lapses = DAY + dt.timedelta(days=200 + 7 * 12 + 1)
    assert [(r["shown_from"], r["snooze_until"]) for r in flags] == [(lapses, None)]  # (never snoozed)
