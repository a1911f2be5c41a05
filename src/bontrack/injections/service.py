"""Injection services: a session is saved only after the decision engine has judged it.

The engine sees what the registry holds, not what the caller claims: the stored patient, the
latest screening and assessment up to the session date, the physical-therapy plan of the
episode, and every earlier session of the patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.assessments.service import latest_assessment
from bontrack.clinical.decision import decide
from bontrack.clinical.findings import Decision
from bontrack.clinical.plan import ProposedSession, parse_check_request
from bontrack.clinical.standing import Standing, before_planning
from bontrack.errors import FieldError, InputError, PlanInputError
from bontrack.injections.authority import Author as Author
from bontrack.injections.authority import audit_override, check_injector, check_override
from bontrack.injections.authority import check_role as check_role
from bontrack.injections.context import history_document, patient_context, patient_document
from bontrack.injections.kind import ADVERSE_EVENT, INJECTION_SESSION
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import (
    AdverseEventCreate,
    AdverseEventRead,
    SessionCreate,
    SessionRead,
    SessionRecord,
)
from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.schemas import EpisodeRead, PatientRead
from bontrack.patients.service import born_by, episode_of, get_clinician, get_patient, not_the_patients
from bontrack.records import Stored
from bontrack.repository import Repository
from bontrack.screening.service import latest_screening
from bontrack.therapy.service import plan_active_on

_ADVERSE_EVENT = Repository.of(ADVERSE_EVENT)
_INJECTION_SESSION = Repository.of(INJECTION_SESSION)


def sessions_of_patient(*, db: Session, actor: str, patient_id: str) -> list[SessionRead]:
    """Current sessions of a patient, oldest first."""
    return _INJECTION_SESSION.of_patient(db, actor, patient_id)


def get_session(*, db: Session, actor: str, session_id: str, field: str = "session_id") -> SessionRead:
    """The current version of a session."""
    return _INJECTION_SESSION.get(db, actor, session_id, field=field)


def _check_document(
    *,
    db: Session,
    actor: str,
    data: SessionCreate,
    patient: PatientRead,
    episode: EpisodeRead,
    exclude: str | None,
    injector_role: str,
) -> dict[str, Any]:
    """The engine's input document, built from stored records: the latest screening on or before
    the session date (with its date), the latest examination's trigger points (with the date they
    were found), the injector's role, the therapy plan and the earlier sessions."""
    screening = latest_screening(db=db, actor=actor, patient_id=patient.id, on_or_before=data.date)
    assessment = latest_assessment(db=db, actor=actor, episode_id=episode.id, on_or_before=data.date)
    history = [
        s
        for s in sessions_of_patient(db=db, actor=actor, patient_id=patient.id)
        if s.id != exclude and s.data.date <= data.date
    ]
    responded = cycle_responses(db=db, actor=actor, patient_id=patient.id, sessions=history)
    plan = data.model_dump(
        mode="json", include=set(ProposedSession.model_fields) - {"sites", "physical_therapy"}
    )
    plan["sites"] = [{"muscle": s.muscle, "side": s.side, "units": s.units} for s in data.sites]
    plan["physical_therapy"] = plan_active_on(db=db, actor=actor, episode_id=episode.id, on=data.date)
    plan["injector_role"] = injector_role
    return {
        "date": data.date.isoformat(),
        "patient": patient_document(patient, screening),
        "episode": {
            "pain_onset_date": episode.data.pain_onset_date.isoformat(),
            "conservative_care_weeks": episode.data.conservative_care_weeks,
            "trigger_points": (
                [
                    {"muscle": tp.muscle, "side": tp.side, "found_on": assessment.data.date.isoformat()}
                    for tp in assessment.data.trigger_points
                ]
                if assessment is not None
                else []
            ),
        },
        "history": history_document(history, responded),
        "plan": plan,
    }


def cycle_responses(
    *,
    db: Session,
    actor: str,
    patient_id: str,
    sessions: list[SessionRead],
    outcomes: Sequence[OutcomeRow | Stored[Any]] | None = None,
) -> dict[str, bool | None]:
    """Whether each past cycle met the pathway's response criterion (knowledge: pathway.cycle_response),
    by the same rule the report and the worklist's stop-and-review judge cycles with
    (``analytics.response_rules.cycle_judgements``): the baseline is the patient's last score of
    that instrument dated on or before the session (of one day's, the last by record id); the
    follow-ups are the scores linked to the session, by week, judged at week 6, else week 12.
    Not judged (None) without a baseline or such a follow-up.
    ``outcomes``: the patient's current outcome rows (or reads, as the chart has them), when the
    caller has read them already; else read here.
    """
    from bontrack.analytics.patient_rules import Score, cycle_judgements

    rule = load_knowledge().files.pathway.cycle_response
    if outcomes is None:
        outcomes = records.find_current(db, row_cls=OutcomeRow, actor=actor, patient_id=patient_id)
    scores: list[Score] = []
    for row in sorted(outcomes, key=lambda r: r.id):  # (the order the report reads them in)
        d = row.data if isinstance(row.data, dict) else row.data.model_dump(mode="json")
        value = (d.get("scoring") or {}).get("scores", {}).get(rule.score)
        week = d.get("weeks_after_session")
        if d.get("instrument") != rule.instrument or not isinstance(value, int | float) or not d.get("date"):
            continue
        linked = d.get("session_id") if week is not None else None
        scores.append((str(d["date"]), linked, None if week is None else int(week), float(value)))
    judged = cycle_judgements(
        [(session.id, session.data.date.isoformat()) for session in sessions],
        scores,
        min_improvement_percent=rule.min_improvement_percent,
        judged_at_weeks=rule.judged_at_weeks,
    )
    return {session.id: j for session, j in zip(sessions, judged, strict=True)}


def _caller_error(error: FieldError) -> FieldError:
    """An engine error as the caller's: plan.sites[0].units as sites[0].units. An error about a
    stored value (the patient's birth date, an earlier session) names it but never quotes it: an
    error message must not show stored patient data."""
    if error.field.startswith("plan."):
        return FieldError(error.field.removeprefix("plan."), error.message)
    return FieldError(
        f"stored record: {error.field}",
        "does not fit this session (e.g. it is dated after the session date); see it on the chart",
    )


def judge(
    *, db: Session, actor: str, data: SessionCreate, exclude: str | None = None
) -> tuple[SessionRecord, Decision]:
    """Run the decision engine on a planned session in its stored context (nothing is saved)."""
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    injector = get_clinician(
        db=db, actor=actor, clinician_id=data.injector_id, clinic_id=patient.clinic_id, field="injector_id"
    )
    kb = load_knowledge()
    document = _check_document(
        db=db,
        actor=actor,
        data=data,
        patient=patient,
        episode=episode,
        exclude=exclude,
        injector_role=check_role(injector.data.role),
    )
    try:
        request = parse_check_request(document, kb)
    except PlanInputError as exc:
        raise InputError([_caller_error(e) for e in exc.errors]) from None
    decision = decide(request, kb)
    volumes = {(s.muscle, s.side, i): s.volume_ml for i, s in enumerate(decision.dilution.sites)}
    sites = [
        site.model_copy(update={"volume_ml": site.volume_ml or volumes[(site.muscle, site.side, i)]})
        for i, site in enumerate(data.sites)
    ]
    stored = SessionRecord(
        **data.model_dump(exclude={"product", "sites"}),
        product=decision.product,
        sites=sites,
        physical_therapy=request.plan.physical_therapy,
        total_units=decision.dilution.total_units,
        knowledge_version=decision.knowledge_version,
        decision=decision,
    )
    return stored, decision


def standing(*, db: Session, actor: str, patient_id: str, on: date) -> Standing:
    """What stands before any plan on ``on`` (``clinical.standing.before_planning``), from the
    records ``judge`` would read for a plan of that day: the latest screening and the earlier sessions."""
    patient = get_patient(db=db, actor=actor, patient_id=patient_id)
    history = [s for s in sessions_of_patient(db=db, actor=actor, patient_id=patient.id) if s.data.date <= on]
    kb = load_knowledge()
    try:
        ctx = patient_context(
            patient=patient,
            screening=latest_screening(db=db, actor=actor, patient_id=patient.id, on_or_before=on),
            sessions=history,
            responded=cycle_responses(db=db, actor=actor, patient_id=patient.id, sessions=history),
            on=on,
            kb=kb,
        )
    except PlanInputError as exc:
        raise InputError([_caller_error(e) for e in exc.errors]) from None
    return before_planning(ctx, kb)


def create_session(
    *, db: Session, actor: str, data: SessionCreate, author: Author | None = None
) -> SessionRead:
    """Judge and save an injection session; the injector must be a physician; a blocked plan needs
    an override with a reason, by the author as themself (see Author)."""
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    check_injector(db=db, actor=actor, data=data, clinic_id=patient.clinic_id)
    stored, decision = judge(db=db, actor=actor, data=data)
    data = check_override(
        db=db, actor=actor, data=data, decision=decision, clinic_id=patient.clinic_id, author=author
    )
    stored = stored.model_copy(update={"override": data.override})
    row = _INJECTION_SESSION.create_row(db, actor, stored, patient.clinic_id)
    audit_override(db, actor=actor, row=row, data=data, decision=decision)
    saved = records.to_read(row, SessionRecord)
    from bontrack.stock.openings import open_for_session  # stock imports this module

    open_for_session(db=db, actor=actor, session=saved)  # its vials leave the stock, if the lot is kept
    return saved


def _check_followups(*, db: Session, actor: str, session_id: str, data: SessionCreate) -> None:
    """A corrected session date cannot move after its follow-ups: the adverse events' onset and
    the outcome measurements linked to it (both were checked against the date when recorded)."""
    from bontrack.outcomes.models import OutcomeRow

    dates = [
        (str(r.data["onset_date"]), "the onset of an adverse event reported for it")
        for r in records.find_current(db, row_cls=AdverseEventRow, actor=actor, session_id=session_id)
    ] + [
        (str(r.data["date"]), "an outcome measurement linked to it")
        for r in records.find_current(db, row_cls=OutcomeRow, actor=actor, session_id=session_id)
    ]
    earlier = [(day, what) for day, what in dates if day < data.date.isoformat()]
    if earlier:
        day, what = min(earlier)
        raise InputError.one("date", f"is after {what} ({day}); correct that record first")


def update_session(
    *,
    db: Session,
    actor: str,
    session_id: str,
    data: SessionCreate,
    reason: str,
    author: Author | None = None,
) -> SessionRead:
    """Correct a session: judged again (against the other sessions) and saved as a new version;
    when what it took from stock changed, its vial openings follow (bontrack.stock.openings).

    As when it was created, a plan the engine blocks is refused unless ``override`` names a
    clinician of the clinic and gives the written reason; the override is audited again.
    """
    judged: list[tuple[SessionCreate, Decision]] = []

    def check(current: InjectionSessionRow) -> SessionRecord:
        check_injector(db=db, actor=actor, data=data, clinic_id=current.clinic_id)
        stored, decision = judge(db=db, actor=actor, data=data, exclude=session_id)
        _check_followups(db=db, actor=actor, session_id=session_id, data=data)
        checked = check_override(
            db=db, actor=actor, data=data, decision=decision, clinic_id=current.clinic_id, author=author
        )
        judged.append((checked, decision))
        return stored.model_copy(update={"override": checked.override})

    row = _INJECTION_SESSION.correct_row(db, actor, session_id, data, reason, check=check)
    audit_override(db, actor=actor, row=row, data=judged[0][0], decision=judged[0][1])
    saved = records.to_read(row, SessionRecord)
    from bontrack.stock.openings import reopen_for_session  # stock imports this module

    reopen_for_session(db=db, actor=actor, session=saved, reason=reason)  # its vials, as corrected
    return saved


def withdraw_session(*, db: Session, actor: str, session_id: str, reason: str) -> SessionRead:
    """Mark a session withdrawn (entered in error); it stays in the history.

    Refused (ConflictError) while current adverse events or outcome measurements refer to it: an
    adverse event is a safety report and must not lose its session, and a follow-up left linked
    to a withdrawn session would silently drop out of the cycle responses and the reports. The
    clinician corrects the link of each (to the right session) or withdraws it with its own
    reason, then withdraws the session. See bontrack.corrections.
    """
    from bontrack.stock.openings import withdraw_openings  # stock imports this module

    withdraw_openings(db=db, actor=actor, session_id=session_id, reason=reason)  # vials back in stock
    return _INJECTION_SESSION.withdraw(db, actor, session_id, reason)


def session_history(*, db: Session, actor: str, session_id: str) -> list[SessionRead]:
    """Every version of a session, oldest first."""
    return _INJECTION_SESSION.history(db, actor, session_id)


def session_of_patient(*, db: Session, actor: str, session_id: str, patient_id: str) -> SessionRead:
    """A session that must belong to the given patient (another patient's: the same not-found as a
    missing one when it is another clinic's, else "belongs to another patient"), named session_id."""
    session = get_session(db=db, actor=actor, session_id=session_id)
    if session.data.patient_id != patient_id:
        raise not_the_patients(
            db,
            field="session_id",
            record_type="injection_session",
            record_id=session_id,
            clinic_id=session.clinic_id,
            patient_id=patient_id,
        )
    return session


def _check_adverse_event(*, db: Session, actor: str, data: AdverseEventCreate) -> str:
    session = session_of_patient(db=db, actor=actor, session_id=data.session_id, patient_id=data.patient_id)
    errors = []
    if data.onset_date < session.data.date:
        errors.append(FieldError("onset_date", f"is before the session date {session.data.date}"))
    if data.reported_date < data.onset_date:
        errors.append(
            FieldError("reported_date", f"{data.reported_date} is before the onset date {data.onset_date}")
        )
    if errors:
        raise InputError(errors)
    born_by(db=db, actor=actor, patient_id=data.patient_id, onset_date=data.onset_date)
    return session.clinic_id


def report_adverse_event(*, db: Session, actor: str, data: AdverseEventCreate) -> AdverseEventRead:
    """Record an adverse event reported after a session."""
    clinic_id = _check_adverse_event(db=db, actor=actor, data=data)
    return _ADVERSE_EVENT.create(db, actor, data, clinic_id)


def update_adverse_event(
    *, db: Session, actor: str, event_id: str, data: AdverseEventCreate, reason: str
) -> AdverseEventRead:
    """Correct an adverse event (a new version), checked as when it was reported."""
    return _ADVERSE_EVENT.update(
        db,
        actor,
        event_id,
        data,
        reason,
        check=lambda _current: _check_adverse_event(db=db, actor=actor, data=data),
    )


def withdraw_adverse_event(*, db: Session, actor: str, event_id: str, reason: str) -> AdverseEventRead:
    """Mark an adverse event withdrawn (entered in error); the report stays in the history."""
    return _ADVERSE_EVENT.withdraw(db, actor, event_id, reason)


def get_adverse_event(
    *, db: Session, actor: str, event_id: str, field: str = "adverse_event_id"
) -> AdverseEventRead:
    """The current version of an adverse event."""
    return _ADVERSE_EVENT.get(db, actor, event_id, field=field)


def adverse_event_history(*, db: Session, actor: str, event_id: str) -> list[AdverseEventRead]:
    """Every version of an adverse event, oldest first."""
    return _ADVERSE_EVENT.history(db, actor, event_id)


def adverse_events_of_session(*, db: Session, actor: str, session_id: str) -> list[AdverseEventRead]:
    """Current adverse events reported for a session."""
    return _ADVERSE_EVENT.current(db, actor, session_id=session_id)


def adverse_events_of_patient(*, db: Session, actor: str, patient_id: str) -> list[AdverseEventRead]:
    """Current adverse events of a patient, by onset date."""
    return _ADVERSE_EVENT.of_patient(db, actor, patient_id)
