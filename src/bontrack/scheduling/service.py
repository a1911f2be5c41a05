"""Scheduling: derived from the stored sessions, outcomes and therapy plans (nothing is stored).

* outcome visits at the knowledge base's weeks after each session (pathway.outcome_visit_weeks);
  a visit is done when an outcome names that session and week; it lapses once a later session
  took place on or before its date;
* the earliest re-injection date after a patient's latest session (the product's
  min_retreatment_days);
* the next planned physical-therapy visit of each plan (start date, visits per week, weeks).

Both the due items and stop-and-review read the clinic the way the report does (bontrack.queries: one
query per record type, only the fields needed, audited as one entry per record type with the
count); only the patients they list are then read as records, and audited one by one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import list_scope
from bontrack.analytics.cycles import number_cycles
from bontrack.analytics.review import cycle_response_rule, due_for_review, review_cycles
from bontrack.dates import shift
from bontrack.injections.models import InjectionSessionRow
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads, current_frame, review_frames
from bontrack.scheduling.schemas import STATUS_ORDER, DueItem, Kind, ReviewItem, Status, item_key
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyPlanCreate


def planned_therapy_dates(plan: TherapyPlanCreate) -> list[dt.date]:
    """Visit dates spread evenly over each week of the plan."""
    return _planned_dates(plan.start_date, plan.visits_per_week, plan.weeks)


def _planned_dates(start: dt.date, per_week: int, weeks: int) -> list[dt.date]:
    return [
        shift(start, 7 * week + (7 * i) // per_week)  # stops at the calendar's end (year 9999)
        for week in range(weeks)
        for i in range(per_week)
    ]


def _key(kind: Kind, ids: dict[str, str], due: dt.date) -> str:
    """The item's key, as DueItem.key makes it (before the row is made)."""
    return item_key(kind, ids.get("session_id") or ids.get("plan_id"), None if kind == "reinjection" else due)


def _ids(session_id: str, injector: dict[str, str]) -> dict[str, str]:
    return {"session_id": session_id, "clinician_id": injector[session_id]}


def _person(data: dict[str, Any]) -> dict[str, Any]:
    """The patient's name, birth date and contact, as a worklist row shows them."""
    return {
        "name": str(data.get("name") or ""),
        "birth_date": data.get("birth_date"),
        "phone": str(data.get("phone") or ""),
        "email": str(data.get("email") or ""),
    }


def _status(due: dt.date, today: dt.date, kind: Kind) -> Status:
    if kind == "reinjection":
        return "eligible" if due <= today else "upcoming"
    return "overdue" if due < today else "due" if due == today else "upcoming"


def worklist(
    *,
    db: Session,
    actor: str,
    today: dt.date,
    horizon_days: int = 14,
    clinic_id: str | None = None,
    keep: Callable[[str, dt.date], bool] | None = None,
) -> list[DueItem]:
    """What is due up to ``today + horizon_days``, overdue first, then by date.

    A missed outcome visit stays overdue until a later session lapses it, so every session of
    the clinic is read (its patient, date, product and recording time: no date window can leave
    one out); of the outcomes only the follow-ups (linked to a session, filtered in SQL), of
    therapy visits only their plan. The patients listed are then read and audited one by one.
    ``keep(key, due)``: whether to list an item (the worked worklist leaves out, before any patient
    is read, what is done, cancelled, snoozed or older than its window).
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must be >= 0")
    clinic_id = list_scope(actor, clinic_id)
    purpose = "worklist"
    end = shift(today, horizon_days)
    kb = load_knowledge()
    weeks = kb.files.pathway.outcome_visit_weeks.weeks
    read: dict[str, int] = {}

    def current(row_cls: type[records.VersionedRow], *paths: str, **options: Any) -> pd.DataFrame:
        frame = current_frame(db, row_cls, clinic_id, paths, **options)
        read[row_cls.record_type] = len(frame)
        return frame

    session_frame = current(
        InjectionSessionRow, "patient_id", "date", "product", "injector_id", columns=("recorded_at",)
    )
    follow_ups = current(
        OutcomeRow, "session_id", "weeks_after_session", where=(OutcomeRow.session_id.is_not(None),)
    )
    visit_frame = current(TherapyVisitRow, columns=("plan_id",))
    plan_frame = current(
        TherapyPlanRow, "patient_id", "start_date", "visits_per_week", "weeks", "therapist_id"
    )
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=f"{purpose}: due items", read=read)

    done_visits = set(zip(follow_ups["session_id"], follow_ups["weeks_after_session"], strict=True))
    sessions: dict[str, list[tuple[dt.date, Any, str, str]]] = defaultdict(list)
    injector: dict[str, str] = {}
    for sid, pid, day, product, recorded_at, by in zip(
        session_frame["id"],
        session_frame["patient_id"],
        session_frame["date"],
        session_frame["product"],
        session_frame["recorded_at"],
        session_frame["injector_id"],
        strict=True,
    ):
        sessions[pid].append((dt.date.fromisoformat(day), recorded_at, sid, product))
        injector[sid] = by

    # (due, kind, patient, what, ids) of every item in the window, before the patients are read
    found: list[tuple[dt.date, Kind, str, str, dict[str, str]]] = []
    for patient_id, own in sessions.items():
        own.sort(key=lambda s: (s[0], s[1]))
        for n, (day, _, sid, _) in enumerate(own):
            next_day = own[n + 1][0] if n + 1 < len(own) else None
            for week in weeks:
                due = shift(day, 7 * week)
                if due > end or (sid, week) in done_visits or (next_day is not None and next_day <= due):
                    continue
                what = f"{week}-week outcome visit after {day}"
                found.append((due, "outcome_visit", patient_id, what, _ids(sid, injector)))
        day, _, sid, product = own[-1]
        gap = int(kb.product(product).min_retreatment_days.value)
        due = shift(day, gap)
        if due <= end:
            what = f"earliest re-injection ({product}, {gap} days after {day})"
            found.append((due, "reinjection", patient_id, what, _ids(sid, injector)))

    visits: dict[str, int] = defaultdict(int)
    for plan_id in visit_frame["plan_id"]:
        visits[plan_id] += 1
    for plan_id, patient_id, start, per_week, plan_weeks, therapist in zip(
        plan_frame["id"],
        plan_frame["patient_id"],
        plan_frame["start_date"],
        plan_frame["visits_per_week"],
        plan_frame["weeks"],
        plan_frame["therapist_id"],
        strict=True,
    ):
        planned = _planned_dates(dt.date.fromisoformat(start), int(per_week), int(plan_weeks))
        done = visits[plan_id]
        if done < len(planned) and planned[done] <= end:
            what = f"physical therapy visit {done + 1} of {len(planned)}"
            ids = {"plan_id": plan_id, "clinician_id": therapist}
            found.append((planned[done], "therapy_visit", patient_id, what, ids))

    if keep is not None:  # only the items listed are made rows (and their patients read)
        found = [f for f in found if keep(_key(f[1], f[4], f[0]), f[0])]
    patients = records.get_many(
        db, row_cls=PatientRow, record_ids=sorted({f[2] for f in found}), actor=actor, purpose=purpose
    )
    items = [
        DueItem(
            status=_status(due, today, kind),
            due_date=due,
            kind=kind,
            clinic_id=patients[patient_id].clinic_id,
            patient_id=patient_id,
            record_number=str(patients[patient_id].data["record_number"]),
            what=what,
            **_person(patients[patient_id].data),
            **ids,
        )
        for due, kind, patient_id, what, ids in found
        if patient_id in patients  # a withdrawn patient's records are not listed
    ]
    return sorted(items, key=lambda i: (STATUS_ORDER[i.status], i.due_date, i.record_number, i.kind))


def stop_and_review(*, db: Session, actor: str, clinic_id: str | None = None) -> list[ReviewItem]:
    """Patients whose latest cycles brought no response (knowledge: pathway.stop_review_cycles_
    without_response, judged by pathway.cycle_response): review before another injection.

    The clinic report's rule (analytics.review) on a read like the report's (bontrack.queries
    ``review_frames``: the clinic's sessions and one score of its outcomes, one audit entry per
    record type); then only the patients to review are read, and audited one by one.
    """
    clinic_id = list_scope(actor, clinic_id)
    kb = load_knowledge()
    purpose = "worklist: stop-and-review"
    rule = cycle_response_rule(kb)
    sessions, measurements = review_frames(
        db=db, actor=actor, clinic_id=clinic_id, purpose=purpose, instrument=rule.instrument, score=rule.score
    )
    numbered = number_cycles(sessions).reset_index(drop=True)  # by date, then recording time
    due = due_for_review(numbered, measurements, kb)
    tail = numbered.groupby("patient_id", sort=False).tail(1)
    last = {
        str(pid): (str(sid), pd.Timestamp(day).date())
        for pid, sid, day in zip(tail["patient_id"], tail["session_id"], tail["date"], strict=True)
    }
    patients = records.get_many(db, row_cls=PatientRow, record_ids=due, actor=actor, purpose=purpose)
    n = review_cycles(kb)
    items = [
        ReviewItem(
            clinic_id=patients[patient_id].clinic_id,
            patient_id=patient_id,
            record_number=str(patients[patient_id].data["record_number"]),
            **_person(patients[patient_id].data),
            last_session_id=last[patient_id][0],
            last_session_date=last[patient_id][1],
            what=f"no response in the last {n} cycles: stop and review before another injection",
        )
        for patient_id in due
        if patient_id in patients  # a withdrawn patient is not reviewed
    ]
    return sorted(items, key=lambda i: (i.last_session_date, i.record_number))
