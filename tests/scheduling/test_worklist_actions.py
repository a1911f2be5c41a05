"""A worklist you can work (issue 14, item 4): actions stored append-only, applied to the list,
scoped by clinic, audited; the one window shared by the pages, `bontrack due` and the summary;
the home page's day (item 1). Real SQLite and PostgreSQL through the real services."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from bontrack import clock
from bontrack.actor import Actor
from bontrack.audit.models import AuditEntry
from bontrack.auth.links import LinkSubmission, PatientLinkCreate, issue_link, submit_through_link
from bontrack.cli import app
from bontrack.errors import InputError, NotAllowedError, NotFoundError
from bontrack.scheduling.actions import (
    action_history,
    actions_of_patient,
    correct_action,
    item_of,
    record_action,
    work_list,
)
from bontrack.scheduling.models import WorklistActionRow
from bontrack.scheduling.schemas import DueItem, ReviewItem, WorklistActionCreate
from bontrack.scheduling.today import today_of_clinic
from bontrack.scheduling.window import Window, load_window
from bontrack.storage.audit_log import denied_attempt
from bontrack.storage.engine import transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import ACTOR, DAY, World, clinic_world, saved_session

WINDOW = Window(look_back_days=28, look_ahead_days=7)
# two weeks after the session: the 2-week outcome visit and PT visits are due or overdue
TODAY = DAY + dt.timedelta(weeks=2)


def _world(engine: Engine) -> World:
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
        return world


def _listed(engine: Engine, today: dt.date = TODAY, window: Window = WINDOW) -> list[DueItem]:
    with transaction(engine) as db:
        return work_list(db=db, actor=ACTOR, today=today, window=window).items


def _act(engine: Engine, item: DueItem, action: str, **extra: object) -> str:
    data = WorklistActionCreate.model_validate(
        {
            "patient_id": item.patient_id,
            "item_key": item.key,
            "kind": item.kind,
            "action": action,
            "on": TODAY,
            "what": item.what,
        }
        | extra
    )
    with transaction(engine) as db:
        return record_action(db=db, actor=ACTOR, data=data).id


def _outcome_visit(items: list[DueItem]) -> DueItem:
    return next(i for i in items if i.kind == "outcome_visit")


def test_rows__carry_name_age_contact_and_clinician(engine: Engine) -> None:
    world = _world(engine)
    item = _outcome_visit(_listed(engine))
    assert (item.name, item.birth_date, item.clinician_id) == (
        "Test Patient",
        dt.date(1978, 5, 4),
        world.clinician_id,
    )
    assert item.status == "due" and item.due_date == TODAY


def test_done__leaves_the_list_and_is_kept_in_the_patients_actions(engine: Engine) -> None:
    world = _world(engine)
    item = _outcome_visit(_listed(engine))
    _act(engine, item, "done")
    assert item.key not in {i.key for i in _listed(engine)}
    with transaction(engine) as db:
        (saved,) = actions_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
    assert (saved.data.action, saved.data.item_key, saved.recorded_by) == ("done", item.key, ACTOR)


def test_snoozed__hidden_until_its_date_then_listed_again(engine: Engine) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    until = TODAY + dt.timedelta(days=3)
    _act(engine, item, "snoozed", snooze_until=until)
    with transaction(engine) as db:
        worked = work_list(db=db, actor=ACTOR, today=TODAY, window=WINDOW)
    assert item.key not in {i.key for i in worked.items} and worked.snoozed == 1
    back = {i.key: i for i in _listed(engine, until)}
    assert back[item.key].status == "overdue" and back[item.key].last_action == "snoozed"


def test_contacted__stays_listed_with_the_day_of_contact(engine: Engine) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    _act(engine, item, "contacted")
    again = {i.key: i for i in _listed(engine)}[item.key]
    assert (again.last_action, again.last_action_on, again.last_action_note) == (
        "contacted",
        TODAY,
        "patient contacted",
    )


@pytest.mark.parametrize(
    ("action", "extra", "field"),
    [
        ("cancelled", {}, "reason"),
        ("snoozed", {}, "snooze_until"),
        ("snoozed", {"snooze_until": TODAY}, "snooze_until"),
        ("done", {"decision": "stop"}, "decision"),
        ("reviewed", {"decision": "stop"}, "action"),
    ],
)
def test_incomplete_action__refused_naming_the_field_and_nothing_written(
    engine: Engine, action: str, extra: dict[str, object], field: str
) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    with pytest.raises(InputError) as caught:
        _act(engine, item, action, **extra)
    assert field in [e.field for e in caught.value.errors]
    with transaction(engine) as db:
        assert db.scalar(select(func.count()).select_from(WorklistActionRow)) == 0


def test_correction__a_new_version_the_old_one_kept(engine: Engine) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    action_id = _act(engine, item, "cancelled", reason="moved away")
    assert item.key not in {i.key for i in _listed(engine)}
    with transaction(engine) as db:
        first = actions_of_patient(db=db, actor=ACTOR, patient_id=item.patient_id)[0]
        fixed = first.data.model_copy(update={"action": "contacted", "reason": ""})
        correct_action(db=db, actor=ACTOR, action_id=action_id, data=fixed, reason="wrong patient's note")
    with transaction(engine) as db:
        versions = action_history(db=db, actor=ACTOR, action_id=action_id)
    assert [(v.version, v.data.action) for v in versions] == [(1, "cancelled"), (2, "contacted")]
    assert item.key in {i.key for i in _listed(engine)}  # the corrected action no longer closes it


def test_other_clinic__cannot_act_on_or_read_the_actions(engine: Engine) -> None:
    world = _world(engine)
    item = _outcome_visit(_listed(engine))
    _act(engine, item, "done")
    outsider = Actor("user:other", clinic_id="another-clinic", role="physician")
    data = WorklistActionCreate(
        patient_id=world.patient_id, item_key=item.key, kind=item.kind, action="contacted", on=TODAY
    )
    with transaction(engine) as db, pytest.raises(NotFoundError):
        record_action(db=db, actor=outsider, data=data)
    with transaction(engine) as db:
        assert work_list(db=db, actor=outsider, today=TODAY, window=WINDOW).items == []
        assert actions_of_patient(db=db, actor=outsider, patient_id=world.patient_id) == []


def test_writes_and_reads__audited(engine: Engine) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    action_id = _act(engine, item, "done")
    with transaction(engine) as db:
        work_list(db=db, actor="auditor", today=TODAY, window=WINDOW)
    with transaction(engine) as db:
        created = db.scalars(
            select(AuditEntry).where(AuditEntry.record_id == action_id, AuditEntry.action == "create")
        ).all()
        reads = db.scalars(
            select(AuditEntry).where(AuditEntry.actor == "auditor", AuditEntry.record_type == "due_item")
        ).all()
    assert len(created) == 1 and created[0].actor == ACTOR
    # the actions are applied from the due items (which carry each item's latest action): one
    # read of them, with the count of the items in the window (the closed one among them)
    assert len(reads) == 1 and reads[0].record_id is None
    assert reads[0].detail and reads[0].detail.startswith("worklist: due items: ")
    assert int(reads[0].detail.split(": ")[2].split()[0]) >= 1


def test_window__items_older_than_the_look_back_counted_not_listed(engine: Engine) -> None:
    _world(engine)
    later = DAY + dt.timedelta(weeks=30)  # every follow-up of the session long overdue
    with transaction(engine) as db:
        narrow = work_list(db=db, actor=ACTOR, today=later, window=WINDOW)
        wide = work_list(db=db, actor=ACTOR, today=later, window=WINDOW, everything=True)
    assert narrow.older == len(wide.items) - len(narrow.items) > 0
    since = WINDOW.since(later)
    assert all(i.due_date >= since for i in narrow.items)
    assert any(i.due_date < since for i in wide.items)


def test_window__from_the_environment_named_when_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BONTRACK_WORKLIST_LOOK_AHEAD_DAYS", "3")
    assert load_window() == Window(look_back_days=28, look_ahead_days=3)
    assert load_window(look_ahead_days=10).look_ahead_days == 10
    monkeypatch.setenv("BONTRACK_WORKLIST_LOOK_BACK_DAYS", "-1")
    with pytest.raises(InputError) as caught:
        load_window()
    assert caught.value.errors[0].field == "BONTRACK_WORKLIST_LOOK_BACK_DAYS"


def test_window__kept_until_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_window keeps the window it made for the same settings, and reads them again as soon as
    a BONTRACK_WORKLIST_* variable is set, changed or removed (in any case, as pydantic-settings
    reads them); a bad value is refused on every call, not once."""
    for name in ("BONTRACK_WORKLIST_LOOK_BACK_DAYS", "BONTRACK_WORKLIST_LOOK_AHEAD_DAYS"):
        monkeypatch.delenv(name, raising=False)
    first = load_window()
    assert first == Window(look_back_days=28, look_ahead_days=7) and load_window() is first
    monkeypatch.setenv("BONTRACK_WORKLIST_LOOK_AHEAD_DAYS", "3")
    assert load_window() == Window(look_back_days=28, look_ahead_days=3)
    assert load_window(look_back_days=5) == Window(look_back_days=5, look_ahead_days=3)
    monkeypatch.setenv("BONTRACK_WORKLIST_LOOK_AHEAD_DAYS", "4")
    assert load_window().look_ahead_days == 4
    monkeypatch.setenv("bontrack_worklist_look_back_days", "9")
    assert load_window() == Window() == Window(look_back_days=9, look_ahead_days=4)
    monkeypatch.delenv("bontrack_worklist_look_back_days")
    monkeypatch.delenv("BONTRACK_WORKLIST_LOOK_AHEAD_DAYS")
    assert load_window() == first
    monkeypatch.setenv("BONTRACK_WORKLIST_LOOK_AHEAD_DAYS", "400")
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            load_window()
        assert caught.value.errors[0].field == "BONTRACK_WORKLIST_LOOK_AHEAD_DAYS"


def test_due_command__the_same_window_and_actions_as_the_pages(engine: Engine, db_url: str) -> None:
    _world(engine)
    item = _outcome_visit(_listed(engine))
    _act(engine, item, "done")
    result = CliRunner().invoke(app, ["--db", db_url, "due", "--date", str(TODAY), "--format", "json"])
    assert result.exit_code == 0, result.output
    keys = [DueItem.model_validate(r).key for r in json.loads(result.stdout)]
    assert keys == [i.key for i in _listed(engine)] and item.key not in keys
    table = CliRunner().invoke(app, ["--db", db_url, "due", "--date", str(TODAY)])
    assert "from 28 days back to 7 days ahead" in " ".join(table.stdout.split())


@pytest.fixture
def synthetic(engine: Engine) -> str:
    with transaction(engine) as db:
        summary = load(db, actor="test:setup", batches=generate(40, seed=1))
    assert summary.clinic_id is not None
    return summary.clinic_id


def test_review_done__decision_stored_and_flag_leaves_the_list(engine: Engine, synthetic: str) -> None:
    today = dt.date(2026, 11, 23)
    with transaction(engine) as db:
        reviews = work_list(db=db, actor=ACTOR, today=today, window=WINDOW).reviews
    assert reviews, "the synthetic clinic has patients to review"
    flag = reviews[0]
    data = WorklistActionCreate(
        patient_id=flag.patient_id,
        item_key=flag.key,
        kind="stop_review",
        action="reviewed",
        decision="change",
        on=today,
        what=flag.what,
    )
    with transaction(engine) as db:
        record_action(db=db, actor=ACTOR, data=data)
    with transaction(engine) as db:
        after = work_list(db=db, actor=ACTOR, today=today, window=WINDOW).reviews
        (stored,) = actions_of_patient(db=db, actor=ACTOR, patient_id=flag.patient_id)
    assert [r.patient_id for r in after] == [r.patient_id for r in reviews[1:]]
    assert (stored.data.action, stored.data.decision) == ("reviewed", "change")


def test_today__sessions_dated_today_and_self_reports_since_yesterday(engine: Engine) -> None:
    today = clock.today()
    with transaction(engine) as db:
        world = clinic_world(db)
        session = saved_session(db, world, day=today)
        secret, _ = issue_link(
            db=db,
            actor=ACTOR,
            data=PatientLinkCreate(
                patient_id=world.patient_id, episode_id=world.episode_id, instruments=["nprs"]
            ),
            now=clock.utcnow(),
        )
        submission = LinkSubmission.model_validate({"forms": [{"instrument": "nprs", "answers": {"1": 4}}]})
        submit_through_link(db=db, secret=secret, submission=submission, now=clock.utcnow())
    with transaction(engine) as db:
        day = today_of_clinic(
            db=db, actor=ACTOR, today=today, window=WINDOW, clinic_id=world.clinic_id, role="physician"
        )
        tomorrow = today_of_clinic(
            db=db,
            actor=ACTOR,
            today=today + dt.timedelta(days=2),
            window=WINDOW,
            clinic_id=world.clinic_id,
            role="physician",
        )
    (listed,) = day.sessions
    assert (listed.session_id, listed.name, listed.decision) == (session.id, "Test Patient", "warn")
    (report,) = day.self_reports
    assert (report.name, report.date) == ("Test Patient", today)
    assert tomorrow.sessions == [] and tomorrow.self_reports == []
    # the therapy plan's first visit fell due in March, but today's session came after the plan's
    # period (a new cycle): the old plan's visit lapsed, neither counted nor listed
    assert day.worked.older == 0 and not day.due_today + day.overdue + day.this_week


def test_pages__the_whole_list_cut_in_pages_of_any_size_and_the_homes_first_rows(
    engine: Engine, synthetic: str
) -> None:
    """A page is read segment by segment (overdue, due, eligible, upcoming) from the due dates it
    spans: the pages put together are the whole list, in its order, whatever their size."""
    today = dt.date(2026, 11, 23)
    window = Window(look_back_days=120, look_ahead_days=60)
    with transaction(engine) as db:
        whole = work_list(db=db, actor=ACTOR, today=today, window=window)
        keys = [i.key for i in whole.items]
        statuses = [i.status for i in whole.items]
        assert len(set(statuses)) >= 3 and whole.total == len(keys) > 20
        assert whole.by_status == {s: statuses.count(s) for s in ("overdue", "due", "eligible", "upcoming")}
        assert whole.overdue == statuses.count("overdue")
        for size in (1, 7, 40):
            paged = []
            for offset in range(0, whole.total + size, size):
                page = work_list(db=db, actor=ACTOR, today=today, window=window, limit=size, offset=offset)
                assert page.total == whole.total and len(page.items) <= size
                paged += [i.key for i in page.items]
            assert paged == keys, size
        day = today_of_clinic(
            db=db, actor=ACTOR, today=today, window=window, clinic_id=synthetic, role="staff", rows=3
        )
        everything = today_of_clinic(
            db=db, actor=ACTOR, today=today, window=window, clinic_id=synthetic, role="staff"
        )
    by_key = {i.key: i for i in whole.items}
    for section, wanted in (
        ("overdue", {"overdue"}),
        ("due_today", {"due", "eligible"}),
        ("this_week", {"upcoming"}),
    ):
        listed = [k for k in keys if by_key[k].status in wanted]
        assert [i.key for i in getattr(everything, section)] == listed
        assert [i.key for i in getattr(day, section)] == listed[:3]
        assert day.counts[section] == everything.counts[section] == len(listed)
    assert day.worked.review_total == everything.worked.review_total == len(everything.worked.reviews)


def test_today__first_rows_follow_the_day_window_clinic_and_records(engine: Engine, synthetic: str) -> None:
    """The home page's statements are kept per clinic, day, window and rows (they hold only those
    conditions): each call lists what the whole day lists first, whichever was asked before, and
    an action recorded since takes its item off at once (the rows are read on every call)."""
    days = (dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    windows = (WINDOW, Window(look_back_days=120, look_ahead_days=60))

    def first(today: dt.date, window: Window, clinic: str | None) -> tuple[list[list[str]], list[str]]:
        with transaction(engine) as db:
            day = today_of_clinic(
                db=db, actor=ACTOR, today=today, window=window, clinic_id=clinic, role="staff", rows=3
            )
            whole = today_of_clinic(
                db=db, actor=ACTOR, today=today, window=window, clinic_id=clinic, role="staff"
            )
        sections = [
            [i.key for i in getattr(d, s)]
            for d in (day, whole)
            for s in ("overdue", "due_today", "this_week")
        ]
        assert sections[:3] == [keys[:3] for keys in sections[3:]]
        assert [r.key for r in day.worked.reviews] == [r.key for r in whole.worked.reviews][:3]
        return sections[:3], [r.key for r in day.worked.reviews]

    seen = {(d, w, c): first(d, w, c) for c in (synthetic, None) for w in windows for d in days}
    assert len({str(v) for v in seen.values()}) > 2  # the days and windows list different rows
    for (d, w, c), listed in reversed(seen.items()):  # asked again in another order: the same
        assert first(d, w, c) == listed
    today = days[0]
    (overdue, _, _), _ = seen[(today, WINDOW, synthetic)]
    with transaction(engine) as db:
        item = next(
            i for i in work_list(db=db, actor=ACTOR, today=today, window=WINDOW).items if i.key == overdue[0]
        )
    _act(engine, item, "done")
    (now_overdue, _, _), _ = first(today, WINDOW, synthetic)
    assert now_overdue[:2] == overdue[1:] and item.key not in now_overdue


def test_item_of__a_due_item_or_a_flag_of_ones_clinic_until_it_is_closed(
    engine: Engine, synthetic: str
) -> None:
    today = dt.date(2026, 11, 23)
    with transaction(engine) as db:
        worked = work_list(db=db, actor=ACTOR, today=today, window=WINDOW)
        item, flag = worked.items[0], worked.reviews[0]

        def one(patient_id: str, key: str, actor: str = ACTOR) -> DueItem | ReviewItem | None:
            return item_of(
                db=db, actor=actor, clinic_id=None, patient_id=patient_id, item_key=key, today=today
            )

        assert one(item.patient_id, item.key) == item
        found = one(flag.patient_id, flag.key)
        assert isinstance(found, ReviewItem) and found == flag
        assert one(item.patient_id, "outcome_visit:no-such-session:2026-01-01") is None
        assert one(flag.patient_id, item.key) is None  # another patient's item
        assert (
            one(
                item.patient_id,
                item.key,
                actor=Actor("user:other", clinic_id="another-clinic", role="physician"),
            )
            is None
        )
    _act(engine, item, "done")
    with transaction(engine) as db:
        assert (
            item_of(
                db=db, actor=ACTOR, clinic_id=None, patient_id=item.patient_id, item_key=item.key, today=today
            )
            is None
        )


@pytest.mark.parametrize("role", ["staff", "physical_therapist", "admin"])
def test_review_done__only_a_physician_decides_nothing_written_for_another_role(
    engine: Engine, synthetic: str, role: str
) -> None:
    """After cycles without response, going on injecting is a physician's call: the service
    refuses the decision from any other signed-in role (whatever face sent it), writes nothing,
    and marks the refusal for the face to audit; a physician's is saved."""
    today = dt.date(2026, 11, 23)
    with transaction(engine) as db:
        flag = work_list(db=db, actor=ACTOR, today=today, window=WINDOW).reviews[0]
    data = WorklistActionCreate(
        patient_id=flag.patient_id,
        item_key=flag.key,
        kind="stop_review",
        action="reviewed",
        decision="continue",
        on=today,
        what=flag.what,
    )
    other = Actor(f"user:{role}", clinic_id=synthetic, role=role)
    with transaction(engine) as db, pytest.raises(NotAllowedError) as caught:
        record_action(db=db, actor=other, data=data)
    assert caught.value.errors[0].field == "decision"
    assert caught.value.errors[0].message.startswith(
        "only a physician can record the stop-and-review decision"
    )
    assert denied_attempt(caught.value) is not None
    with transaction(engine) as db:
        assert db.scalar(select(func.count()).select_from(WorklistActionRow)) == 0
    physician = Actor("user:physician", clinic_id=synthetic, role="physician")
    with transaction(engine) as db:
        saved = record_action(db=db, actor=physician, data=data)
    assert (saved.recorded_by, saved.data.decision) == ("user:physician", "continue")
    # nor may the other role correct the physician's decision into another
    with transaction(engine) as db, pytest.raises(NotAllowedError):
        correct_action(
            db=db,
            actor=other,
            action_id=saved.id,
            data=data.model_copy(update={"decision": "stop"}),
            reason="changed my mind",
        )


@pytest.mark.parametrize("role", ["staff", "physical_therapist"])
def test_review_done__another_role_cannot_undo_the_decision_under_another_kind(
    engine: Engine, synthetic: str, role: str
) -> None:
    """An action on a flag's item is the flag's latest action, whatever kind it claims: a role
    that may not decide cannot supersede a physician's decision (contacted: the flag reopens;
    cancelled: it closes without one), nor correct the decision into such an action, nor withdraw
    it (the kind's one rule, bontrack.corrections). Refused, marked denied, nothing written."""
    from bontrack.corrections import withdraw

    today = dt.date(2026, 11, 23)
    with transaction(engine) as db:
        flag = work_list(db=db, actor=ACTOR, today=today, window=WINDOW).reviews[0]
    decision = WorklistActionCreate(
        patient_id=flag.patient_id,
        item_key=flag.key,
        kind="stop_review",
        action="reviewed",
        decision="stop",
        on=today,
        what=flag.what,
    )
    physician = Actor("user:physician", clinic_id=synthetic, role="physician")
    with transaction(engine) as db:
        saved = record_action(db=db, actor=physician, data=decision)
    other = Actor(f"user:{role}", clinic_id=synthetic, role=role)
    disguised = [
        decision.model_copy(update={"kind": "outcome_visit", "action": "contacted", "decision": None}),
        decision.model_copy(
            update={"kind": "reinjection", "action": "cancelled", "decision": None, "reason": "not needed"}
        ),
    ]
    for data in disguised:
        with transaction(engine) as db, pytest.raises(NotAllowedError) as caught:
            record_action(db=db, actor=other, data=data)
        assert caught.value.errors[0].message.startswith(
            "only a physician can record the stop-and-review decision"
        )
        assert denied_attempt(caught.value) is not None
        with transaction(engine) as db, pytest.raises(NotAllowedError) as caught:
            correct_action(db=db, actor=other, action_id=saved.id, data=data, reason="mistake")
        assert caught.value.errors[0].message.startswith(
            "only a physician can correct the stop-and-review decision"
        )
    with transaction(engine) as db, pytest.raises(NotAllowedError) as caught:
        withdraw(db, row_cls=WorklistActionRow, record_id=saved.id, actor=other, reason="mistake")
    attempt = denied_attempt(caught.value)
    assert attempt is not None and (attempt.action, attempt.record_type) == ("withdraw", "worklist_action")
    assert caught.value.errors[0].message == (
        f"only a physician can withdraw a worklist action; your account's role is {role.replace('_', ' ')}"
    )
    with transaction(engine) as db:
        assert db.scalar(select(func.count()).select_from(WorklistActionRow)) == 1
        assert [
            a.data.decision for a in actions_of_patient(db=db, actor=ACTOR, patient_id=flag.patient_id)
        ] == ["stop"]
    # the physician may withdraw their own decision (the flag is back for review)
    with transaction(engine) as db:
        withdraw(db, row_cls=WorklistActionRow, record_id=saved.id, actor=physician, reason="wrong patient")
