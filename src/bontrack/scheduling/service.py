"""Scheduling: derived from the stored sessions, outcomes and therapy plans (nothing is stored).

* outcome visits at the knowledge base's weeks after each session (pathway.outcome_visit_weeks);
  a visit is done when an outcome names that session and week; it lapses once a later session
  took place on or before its date;
* the earliest re-injection date after a patient's latest session (the product's
  min_retreatment_days);
* the next planned physical-therapy visit of each plan (start date, visits per week, weeks).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.injections.models import InjectionSessionRow
from bontrack.injections.schemas import SessionRead, SessionRecord
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeRecord
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.scheduling.schemas import STATUS_ORDER, DueItem, Kind, ReviewItem, Status
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate


def planned_therapy_dates(plan: TherapyPlanCreate) -> list[dt.date]:
    """Visit dates spread evenly over each week of the plan."""
    per_week = plan.visits_per_week
    return [
        plan.start_date + dt.timedelta(days=7 * week + (7 * i) // per_week)
        for week in range(plan.weeks)
        for i in range(per_week)
    ]


def _status(due: dt.date, today: dt.date, kind: Kind) -> Status:
    if kind == "reinjection":
        return "eligible" if due <= today else "upcoming"
    return "overdue" if due < today else "due" if due == today else "upcoming"


def worklist(
    *, db: Session, actor: str, today: dt.date, horizon_days: int = 14, clinic_id: str | None = None
) -> list[DueItem]:
    """What is due up to ``today + horizon_days``, overdue first, then by date."""
    if horizon_days < 0:
        raise ValueError("horizon_days must be >= 0")
    where = {"clinic_id": clinic_id} if clinic_id else {}
    purpose = "worklist"
    patients = {
        r.id: records.to_read(r, PatientCreate)
        for r in records.find_current(db, row_cls=PatientRow, actor=actor, purpose=purpose, **where)
    }
    sessions: dict[str, list[SessionRead]] = defaultdict(list)
    for r in records.find_current(db, row_cls=InjectionSessionRow, actor=actor, purpose=purpose, **where):
        s = records.to_read(r, SessionRecord)
        if s.data.patient_id in patients:
            sessions[s.data.patient_id].append(s)
    done_visits = {
        (o.data.session_id, o.data.weeks_after_session)
        for o in (
            records.to_read(r, OutcomeRecord)
            for r in records.find_current(db, row_cls=OutcomeRow, actor=actor, purpose=purpose, **where)
        )
    }
    kb = load_knowledge()
    weeks = kb.files.pathway.outcome_visit_weeks.weeks
    items: list[DueItem] = []

    def add(due: dt.date, kind: Kind, patient_id: str, what: str, **ids: str) -> None:
        if due <= today + dt.timedelta(days=horizon_days):
            patient = patients[patient_id]
            items.append(
                DueItem(
                    status=_status(due, today, kind),
                    due_date=due,
                    kind=kind,
                    clinic_id=patient.clinic_id,
                    patient_id=patient_id,
                    record_number=patient.data.record_number,
                    what=what,
                    **ids,
                )
            )

    for patient_id, own in sessions.items():
        own.sort(key=lambda s: (s.data.date, s.recorded_at))
        for n, session in enumerate(own):
            later = [s.data.date for s in own[n + 1 :]]
            for week in weeks:
                due = session.data.date + dt.timedelta(weeks=week)
                if (session.id, week) in done_visits or any(d <= due for d in later):
                    continue
                add(
                    due,
                    "outcome_visit",
                    patient_id,
                    f"{week}-week outcome visit after {session.data.date}",
                    session_id=session.id,
                )
        last = own[-1]
        gap = int(kb.product(last.data.product).min_retreatment_days.value)
        add(
            last.data.date + dt.timedelta(days=gap),
            "reinjection",
            patient_id,
            f"earliest re-injection ({last.data.product}, {gap} days after {last.data.date})",
            session_id=last.id,
        )

    visits: dict[str, int] = defaultdict(int)
    for visit_row in records.find_current(db, row_cls=TherapyVisitRow, actor=actor, purpose=purpose, **where):
        visits[records.to_read(visit_row, TherapyVisitCreate).data.plan_id] += 1
    for plan_row in records.find_current(db, row_cls=TherapyPlanRow, actor=actor, purpose=purpose, **where):
        plan = records.to_read(plan_row, TherapyPlanCreate)
        planned = planned_therapy_dates(plan.data)
        done = visits[plan.id]
        if plan.data.patient_id in patients and done < len(planned):
            add(
                planned[done],
                "therapy_visit",
                plan.data.patient_id,
                f"physical therapy visit {done + 1} of {len(planned)}",
                plan_id=plan.id,
            )
    return sorted(items, key=lambda i: (STATUS_ORDER[i.status], i.due_date, i.record_number, i.kind))


def stop_and_review(*, db: Session, actor: str, clinic_id: str | None = None) -> list[ReviewItem]:
    """Patients whose latest cycles brought no response (knowledge: pathway.stop_review_cycles_
    without_response, judged by pathway.cycle_response): review before another injection.

    Three reads whatever the clinic's size: its sessions, its outcomes, and the patients to review.
    """
    from bontrack.clinical.retreatment import calls_for_review
    from bontrack.injections.service import cycle_responses

    where = {"clinic_id": clinic_id} if clinic_id else {}
    purpose = "stop-and-review"
    sessions: dict[str, list[SessionRead]] = defaultdict(list)
    for r in records.find_current(db, row_cls=InjectionSessionRow, actor=actor, purpose=purpose, **where):
        s = records.to_read(r, SessionRecord)
        sessions[s.data.patient_id].append(s)
    outcomes: dict[str, list[OutcomeRow]] = defaultdict(list)
    if sessions:
        for row in records.find_current(db, row_cls=OutcomeRow, actor=actor, purpose=purpose, **where):
            if row.patient_id in sessions:
                outcomes[row.patient_id].append(row)
    kb = load_knowledge()
    n = int(kb.files.pathway.stop_review_cycles_without_response.value)
    flagged: list[tuple[str, list[SessionRead]]] = []
    for patient_id, own in sessions.items():
        own.sort(key=lambda s: (s.data.date, s.recorded_at))
        responded = cycle_responses(
            db=db, actor=actor, patient_id=patient_id, sessions=own, outcomes=outcomes[patient_id]
        )
        if calls_for_review([responded.get(s.id) for s in own], kb):
            flagged.append((patient_id, own))
    patients = records.get_many(
        db, row_cls=PatientRow, record_ids=[p for p, _ in flagged], actor=actor, purpose=purpose
    )
    items = [
        ReviewItem(
            clinic_id=patients[patient_id].clinic_id,
            patient_id=patient_id,
            record_number=str(patients[patient_id].data["record_number"]),
            last_session_id=own[-1].id,
            last_session_date=own[-1].data.date,
            what=f"no response in the last {n} cycles: stop and review before another injection",
        )
        for patient_id, own in flagged
        if patient_id in patients  # a withdrawn patient is not reviewed
    ]
    return sorted(items, key=lambda i: (i.last_session_date, i.record_number))
