"""The injection session form: the decision engine judges the plan live (POST /api/sessions/check
from session_form.js) and again when it is saved; a blocked plan is saved only with an override.
Until there is a plan to judge, the form opens on what already stands against an injection that
day whatever is planned (``injections.service.standing``), in the engine's words. Above it, the
patient's open or serious adverse events after earlier sessions (``web.earlier_events``)."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.assessments.service import assessments_of_patient
from bontrack.clinical.findings import Decision
from bontrack.clinical.standing import Standing
from bontrack.errors import InputError
from bontrack.injections import service as injections
from bontrack.injections.authority import reason_written
from bontrack.injections.schemas import Guidance, SessionCreate
from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import clinicians_of_clinic, episodes_of_patient
from bontrack.schemas import parse
from bontrack.web.bodymap import MuscleMark, body_map, drawn_muscles
from bontrack.web.deps import WRITE_SESSIONS, NowDep, PageUser, Principal, SessionDep
from bontrack.web.earlier_events import open_or_serious
from bontrack.web.forms import nest
from bontrack.web.plain import form_labels
from bontrack.web.views.common import FormItems, allow, check_csrf, csrf_of, page, patient_for, save

router = APIRouter(include_in_schema=False)
SPARE_SITE_ROWS = 2
LABELS = form_labels("session_form.html")  # its date is the "Session date"


ACKNOWLEDGED = "override.acknowledged"  # one checkbox per block, each posting its code
REASON = "override.reason"


def flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested document as form values by field path (the inverse of ``nest``); a list of
    values (the blocks acknowledged) stays a list of texts."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out |= flat(value, name)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, row in enumerate(value):
                out |= flat(row, f"{name}[{i}]")
        elif isinstance(value, list):
            out[name] = [str(v) for v in value]
        elif value is not None:
            out[name] = str(value)
    return out


def session_doc(
    items: list[tuple[str, str]], *, leave_out: tuple[str, ...] = ("csrf_token",)
) -> dict[str, Any]:
    """The posted session form as the service's document: the ticked blocks' codes as the
    override's ``acknowledged`` list (a checkbox posts its value once for each tick)."""
    acknowledged = [v.strip() for k, v in items if k == ACKNOWLEDGED and v.strip()]
    doc = nest((k, v) for k, v in items if k not in (*leave_out, ACKNOWLEDGED))
    override = doc.get("override")
    if acknowledged and (override is None or isinstance(override, dict)):
        doc["override"] = (override or {}) | {"acknowledged": acknowledged}
    return doc


def override_errors(
    errors: dict[str, str],
    status: int,
    decision: Decision | None,
    acknowledged: list[str],
    *,
    correcting: bool,
    reason: str = "",
) -> dict[str, str]:
    """A refused override in the page's words: the API's errors name the JSON fields (override,
    override.acknowledged with each block's code); on the page they are the ticks below, and a
    reason that says too little is told what it holds (the hint above it gives the minimum)."""
    if status != 409:
        return errors
    out = dict(errors)
    if "override" in out:
        what = "the correction" if correcting else "it"
        out["override"] = (
            f"The engine blocks this plan. To save {what} anyway, tick each block you override and write "
            "the reason below."
        )
    if ACKNOWLEDGED in out and decision is not None:
        missing = [
            f.message for f in decision.findings if f.severity == "block" and f.code not in acknowledged
        ]
        if missing:
            out[ACKNOWLEDGED] = "Tick each block you override; not ticked: " + " ".join(missing)
    if REASON in out:
        out[REASON] = (
            f"The reason for overriding has too few words of your own: {reason_written(reason)} written "
            "(a word written again counts once; numbers, punctuation and one letter repeated, as in "
            "'aaa', do not count)."
        )
    return out


def _choices(db: Session, principal: Principal, patient: PatientRead) -> dict[str, Any]:
    kb = load_knowledge()
    clinicians = clinicians_of_clinic(db=db, actor=principal.actor, clinic_id=patient.clinic_id)
    episodes = episodes_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    mine = principal.user.clinician_id
    return {
        "episodes": [(e.id, f"from {e.data.pain_onset_date}") for e in reversed(episodes)],
        # only a physician injects (knowledge: pathway.injector_roles); the engine and the service
        # refuse anyone else, so the list offers no one else
        "clinicians": [
            (c.id, c.data.name)
            for c in clinicians
            if injections.check_role(c.data.role) in kb.files.pathway.injector_roles.roles
        ],
        "overrider": next((c.data.name for c in clinicians if c.id == mine), None),
        "products": [(pid, p.display_name) for pid, p in kb.files.products.items()],
        "vials": {pid: [v.units for v in p.vials] for pid, p in kb.files.products.items()},
        "muscles": [(mid, m.name) for mid, m in kb.files.muscles.items()],
        "sides": [(s, s) for s in kb.files.sides],
        "guidance": [(g, g) for g in get_args(Guidance)],
    }


def _stock_choices(db: Session, principal: Principal, patient: PatientRead, day: str) -> dict[str, Any]:
    """The lot picker's lots (vials left, not expired on the session day), the expiry warning
    days and each product's usable hours after reconstitution (knowledge base)."""
    from bontrack import clock
    from bontrack.stock.service import expiry_warning_days, lots_for_session

    try:
        on = dt.date.fromisoformat(day)
    except ValueError:
        on = clock.today()
    kb = load_knowledge()
    return {
        "stock_lots": lots_for_session(db=db, actor=principal.actor, clinic_id=patient.clinic_id, on=on),
        "expiry_warning_days": expiry_warning_days(),
        "usable_hours": {pid: p.usable_hours_after_preparation.value for pid, p in kb.files.products.items()},
        # a ready-to-use solution given undiluted was not prepared: no window (clinical.preparation)
        "ready_solutions": [pid for pid, p in kb.files.products.items() if p.form == "solution"],
    }


def session_form(
    request: Request,
    db: Session,
    principal: Principal,
    patient: PatientRead,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    decision: Decision | None = None,
    standing: Standing | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    rows = sum(1 for name in values if name.startswith("sites[") and name.endswith("].muscle"))
    kb = load_knowledge()
    names = {m: kb.files.muscles[m].name for m in kb.files.muscles if m in drawn_muscles()}
    examined = assessments_of_patient(db=db, actor=principal.actor, patient_id=patient.id)
    points = examined[-1].data.trigger_points if examined else []
    marks = {(tp.muscle, tp.side): MuscleMark(0.0, True) for tp in points}
    stock = _stock_choices(db, principal, patient, values.get("date", ""))
    correcting = extra.get("correcting")
    earlier = open_or_serious(
        db=db, actor=principal.actor, patient_id=patient.id, leave_out=getattr(correcting, "id", None)
    )
    return page(
        request,
        principal,
        "session_form.html",
        status=status,
        patient=patient,
        values=values,
        errors=errors or {},
        decision=decision,
        standing=standing,
        site_rows=max(3, rows + SPARE_SITE_ROWS),
        maps=body_map(names, marks),
        override_min_words=f"{kb.files.pathway.override_reason_min_words.value:g}",
        override_min_chars=f"{kb.files.pathway.override_reason_min_chars.value:g}",
        earlier_events=earlier,
        **stock,
        **_choices(db, principal, patient),
        **extra,
    )


@router.get("/patients/{patient_id}/sessions/new", response_class=HTMLResponse)
def new_session(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, at: NowDep
) -> Response:
    allow(request, principal, WRITE_SESSIONS)
    patient = patient_for(db, principal, patient_id)
    choices = _choices(db, principal, patient)
    values = {
        "date": at.date().isoformat(),
        "injector_id": principal.user.clinician_id or "",
        "episode_id": choices["episodes"][0][0] if choices["episodes"] else "",
        "vial_count": "1",
        "diluent": "0.9% sodium chloride, preservative-free",
        "reconstituted_at": at.replace(second=0, microsecond=0).isoformat(timespec="minutes"),
    }
    return session_form(
        request, db, principal, patient, values, standing=_standing(db, principal, patient, at.date())
    )


@router.post("/patients/{patient_id}/sessions/new", response_class=HTMLResponse)
def create_session(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    allow(request, principal, WRITE_SESSIONS)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)
    doc = session_doc(items)
    doc["patient_id"] = patient.id

    def write() -> str:
        return injections.create_session(
            db=db,
            actor=principal.actor,
            data=parse(SessionCreate, doc),
            author=injections.Author(principal.user.clinician_id),
        ).id

    saved, errors, status = save(db, write, LABELS)
    if saved is not None:
        return RedirectResponse(f"/patients/{patient.id}?saved=injection_session&session={saved}", 303)
    decision = None
    with suppress(InputError):  # show why it was blocked (or what else the engine says)
        _record, decision = injections.judge(db=db, actor=principal.actor, data=parse(SessionCreate, doc))
    ticked = [v for k, v in items if k == ACKNOWLEDGED]
    errors = override_errors(
        errors, status, decision, ticked, correcting=False, reason=str(dict(items).get(REASON, ""))
    )
    standing = None
    if decision is None:  # no plan to judge yet: what stands on its day, else today
        from bontrack import clock

        on = clock.today()
        with suppress(ValueError, TypeError):
            on = dt.date.fromisoformat(str(doc.get("date")))
        standing = _standing(db, principal, patient, on)
    return session_form(
        request,
        db,
        principal,
        patient,
        flat(doc),
        errors=errors,
        decision=decision,
        standing=standing,
        status=status,
    )


def _standing(db: Session, principal: Principal, patient: PatientRead, on: dt.date) -> Standing | None:
    """What stands on ``on`` before any plan; None when a stored record does not fit the engine
    (the plan's check then names it)."""
    try:
        return injections.standing(db=db, actor=principal.actor, patient_id=patient.id, on=on)
    except InputError:
        return None
