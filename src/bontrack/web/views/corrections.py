"""Correcting and withdrawing a chart's records, and reading their history, on pages.

"Correct" opens the form the record was entered with, filled in with the current version, plus a
required reason; the services check the corrected record exactly as when it was created (an
injection session is judged again). "Withdraw" asks for the reason on a confirmation page.
"History" shows every version with who, when and why, and the fields each version changed.
Every post carries the CSRF token; roles are those that may create the record type.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.assessments.models import AssessmentRow
from bontrack.assessments.schemas import AssessmentCreate
from bontrack.auth.schemas import Role
from bontrack.correctable import CORRECTABLE
from bontrack.errors import InputError, NotFoundError, reason_errors
from bontrack.injections import service as injections
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate, SessionCreate, SessionRecord
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeRecord
from bontrack.patients import service as patients
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.patients.schemas import EpisodeCreate, PatientCreate, PatientRead
from bontrack.records import Stored, VersionedRow
from bontrack.schemas import parse
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from bontrack.web.deps import (
    READ_CLINICAL,
    WRITE_ADVERSE_EVENTS,
    WRITE_ASSESSMENTS,
    WRITE_EPISODES,
    WRITE_OUTCOMES,
    WRITE_PATIENTS,
    WRITE_SCREENINGS,
    WRITE_SESSIONS,
    WRITE_THERAPY,
    PageUser,
    Principal,
    SessionDep,
)
from bontrack.web.views import adverse_event_form, injection_form, intake, record_forms
from bontrack.web.views.common import (
    FormItems,
    PageProblem,
    allow,
    carry_denial,
    check_csrf,
    csrf_of,
    page,
    patient_for,
    save,
)

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class PageKind:
    """A record type as the chart's actions see it."""

    name: str
    label: str
    roles: tuple[Role, ...]
    row: type[VersionedRow]
    schema: type[BaseModel]
    # the record_forms form a correction reuses (None: intake's own form, or the session form)
    form: record_forms.FormSpec | None = None
    hidden: tuple[str, ...] = field(default=())


KINDS: dict[str, PageKind] = {
    k.name: k
    for k in (
        PageKind(
            "patient",
            "patient",
            WRITE_PATIENTS,
            PatientRow,
            PatientCreate,
        ),
        PageKind(
            "episode",
            "episode",
            WRITE_EPISODES,
            EpisodeRow,
            EpisodeCreate,
        ),
        PageKind(
            "screening",
            "screening",
            WRITE_SCREENINGS,
            ScreeningRow,
            ScreeningCreate,
            record_forms.SCREENING,
        ),
        PageKind(
            "assessment",
            "assessment",
            WRITE_ASSESSMENTS,
            AssessmentRow,
            AssessmentCreate,
            record_forms.ASSESSMENT,
        ),
        PageKind(
            "injection_session",
            "injection session",
            WRITE_SESSIONS,
            InjectionSessionRow,
            SessionRecord,
            hidden=("vial_id", "administered_at"),
        ),
        PageKind(
            "adverse_event",
            "adverse event",
            WRITE_ADVERSE_EVENTS,
            AdverseEventRow,
            AdverseEventCreate,
            adverse_event_form.ADVERSE_EVENT,
        ),
        PageKind(
            "therapy_plan",
            "therapy plan",
            WRITE_THERAPY,
            TherapyPlanRow,
            TherapyPlanCreate,
            record_forms.PLAN,
        ),
        PageKind(
            "therapy_visit",
            "therapy visit",
            WRITE_THERAPY,
            TherapyVisitRow,
            TherapyVisitCreate,
            record_forms.VISIT,
        ),
        PageKind(
            "outcome",
            "outcome measurement",
            WRITE_OUTCOMES,
            OutcomeRow,
            OutcomeRecord,
            record_forms.OUTCOME,
        ),
    )
}
# injection sessions, patients and episodes have forms of their own (injection_form, intake)
WITH_FORM = (
    "injection_session",
    "patient",
    "episode",
    *(name for name, k in KINDS.items() if k.form is not None),
)


def actions_for(principal: Principal) -> dict[str, dict[str, bool]]:
    """What the user may do with each record type on the chart (the links shown)."""
    return {
        name: {
            "write": principal.role in k.roles,
            "correct": name in WITH_FORM and principal.role in k.roles,
        }
        for name, k in KINDS.items()
    }


def _kind(name: str) -> PageKind:
    kind = KINDS.get(name)
    if kind is None:
        raise PageProblem(404, "Not found", "There is no such kind of record.")
    return kind


def _versions(
    db: Session, principal: Principal, patient_id: str, kind: PageKind, record_id: str
) -> tuple[PatientRead, list[VersionedRow]]:
    """The patient (in the user's clinic) and every version of one of their records (audited)."""
    patient = patient_for(db, principal, patient_id)
    missing = PageProblem(404, "Not found", f"There is no such {kind.label} in this chart.")
    try:
        rows = records.history(db, row_cls=kind.row, record_id=record_id, actor=principal.actor)
    except NotFoundError as exc:
        raise carry_denial(missing, exc) from None
    owner = rows[-1].id if kind.name == "patient" else rows[-1].data.get("patient_id")
    if owner != patient.id:  # another patient's record (of this clinic: the service scopes)
        raise missing
    return patient, list(rows)


def _current(
    db: Session, principal: Principal, patient_id: str, kind: PageKind, record_id: str
) -> tuple[PatientRead, VersionedRow]:
    """The patient and the current version of their record (withdrawn: a 404 page; audited)."""
    patient = patient_for(db, principal, patient_id)
    missing = PageProblem(
        404, "Not found", f"There is no such {kind.label} in this chart, or it is withdrawn."
    )
    try:
        row = records.get(
            db, row_cls=kind.row, record_id=record_id, actor=principal.actor, purpose="correction"
        )
    except NotFoundError as exc:
        raise carry_denial(missing, exc) from None
    owner = row.id if kind.name == "patient" else row.data.get("patient_id")
    if owner != patient.id:  # another patient's record (of this clinic: the service scopes)
        raise missing
    return patient, row


def summary(kind: str, data: dict[str, Any]) -> str:
    """One line naming a record (the withdrawal and history pages' heading)."""
    day = data.get("date") or data.get("onset_date") or data.get("start_date") or data.get("pain_onset_date")
    words = {
        "patient": f"{data.get('name')} ({data.get('record_number')})",
        "injection_session": f"{data.get('product')} {data.get('total_units', 0):g} U",
        "adverse_event": str(data.get("event")),
        "outcome": str(data.get("instrument", "")).upper(),
    }.get(kind, "")
    label = KINDS[kind].label
    return " · ".join(str(p) for p in (label[:1].upper() + label[1:], day, words) if p)


# ---- history -----------------------------------------------------------------------------------


def flat_values(value: Any, prefix: str = "") -> dict[str, str]:
    """A record's content as readable values by field path (lists of words joined)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out |= flat_values(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            out |= flat_values(item, f"{prefix}[{i}]")
    elif isinstance(value, list):
        out[prefix] = ", ".join(str(v) for v in value) if value else "(none)"
    elif value is None:
        out[prefix] = "(not given)"
    elif isinstance(value, bool):
        out[prefix] = "yes" if value else "no"
    else:
        out[prefix] = str(value)
    return out


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, before, after) for every field that differs; all fields for the first version."""
    old = flat_values(before) if before is not None else {}
    new = flat_values(after)
    names = list(new) + [n for n in old if n not in new]
    return [(n, old.get(n, "—"), new.get(n, "—")) for n in names if old.get(n) != new.get(n)]


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/history", response_class=HTMLResponse)
def record_history(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    """Every version of a record, oldest first: who, when, why, and what changed."""
    allow(request, principal, READ_CLINICAL)
    spec = _kind(kind)
    patient, rows = _versions(db, principal, patient_id, spec, record_id)
    versions = []
    for i, row in enumerate(rows):
        before = rows[i - 1] if i else None
        if row.withdrawn and before is not None and row.data == before.data:
            what = "withdrawn"
        else:
            what = "recorded" if before is None else "corrected"
        versions.append(
            {
                "row": row,
                "what": what,
                "changes": [] if what == "withdrawn" else changes(before.data if before else None, row.data),
            }
        )
    return page(
        request,
        principal,
        "record_history.html",
        patient=patient,
        kind=spec,
        record_id=record_id,
        title=summary(kind, rows[-1].data),
        versions=versions,
        current=rows[-1],
        actions=actions_for(principal)[kind],
    )


# ---- withdraw ----------------------------------------------------------------------------------


def _withdraw_page(
    request: Request,
    principal: Principal,
    patient: PatientRead,
    spec: PageKind,
    row: VersionedRow,
    *,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        principal,
        "record_withdraw.html",
        status=status,
        patient=patient,
        kind=spec,
        row=row,
        title=summary(spec.name, row.data),
        values={"reason": reason},
        errors=errors or {},
    )


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/withdraw", response_class=HTMLResponse)
def withdraw_form(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    spec = _kind(kind)
    allow(request, principal, spec.roles)
    patient, row = _current(db, principal, patient_id, spec, record_id)
    return _withdraw_page(request, principal, patient, spec, row)


@router.post("/patients/{patient_id}/records/{kind}/{record_id}/withdraw", response_class=HTMLResponse)
def withdraw_post(
    request: Request,
    patient_id: str,
    kind: str,
    record_id: str,
    db: SessionDep,
    principal: PageUser,
    items: FormItems,
) -> Response:
    spec = _kind(kind)
    allow(request, principal, spec.roles)
    check_csrf(request, principal, csrf_of(items))
    patient, row = _current(db, principal, patient_id, spec, record_id)
    reason = dict(items).get("reason", "")
    done, errors, status = save(
        db, lambda: CORRECTABLE[spec.name].withdraw(db, principal.actor, record_id, reason)
    )
    if done is not None:
        back = f"/patients/{patient.id}" if kind != "patient" else "/patients"
        return RedirectResponse(f"{back}?saved={kind}_withdrawn", 303)
    return _withdraw_page(request, principal, patient, spec, row, reason=reason, errors=errors, status=status)


# ---- correct -----------------------------------------------------------------------------------


def _lines(items: list[str]) -> str:
    return "\n".join(items)


def _yes_no(value: Any) -> str:
    if value is True:
        return "yes"
    return "no" if value is False else ""


def form_values(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the values of the form it is entered with (the inverse of each form's
    build function in record_forms)."""
    if kind == "screening":
        return {
            "date": data["date"],
            **{state: _yes_no(data.get(state)) for state in record_forms.STATES},
            "allergies": list(data.get("allergies", [])),
            "conditions": list(data.get("conditions", [])),
            "medications": _lines(data.get("medications", [])),
        }
    if kind == "assessment":
        values = {k: data.get(k, "") for k in ("episode_id", "date", "assessor_id", "guidance_notes")}
        for tp in data.get("trigger_points", []):
            key = f"tp.{tp['muscle']}.{tp['side']}"
            values[f"{key}.present"] = "on"
            values |= {f"{key}.{c}": "on" for c in record_forms.CRITERIA if tp.get(c)}
        for i, ppt in enumerate(data.get(record_forms.PPT, [])):
            values |= {f"{record_forms.PPT}[{i}].{k}": str(v) for k, v in ppt.items()}
        return values
    if kind == "therapy_plan":
        plain = ("episode_id", "therapist_id", "start_date", "weeks", "visits_per_week")
        return {k: str(data[k]) for k in plain} | {
            "goals": _lines(data.get("goals", [])),
            "exercises": _lines(data.get("exercises", [])),
        }
    if kind == "therapy_visit":
        return {k: str(data.get(k, "")) for k in ("plan_id", "date", "therapist_id", "notes")} | {
            "attended": _yes_no(data.get("attended"))
        }
    if kind == "outcome":
        values = {k: str(data[k]) for k in ("episode_id", "date", "instrument")}
        for k in ("session_id", "weeks_after_session"):
            if data.get(k) is not None:
                values[k] = str(data[k])
        return values | {f"answers.{item}": str(v) for item, v in data["answers"].items() if v is not None}
    if kind == "injection_session":
        plan = {k: v for k, v in data.items() if k in SessionCreate.model_fields}
        return injection_form.flat(plan)
    if kind == "patient":
        return {k: str(data.get(k, "")) for k in PatientCreate.model_fields}  # contact: added later
    if kind == "episode":
        return intake.episode_values(data)
    if kind == "adverse_event":
        texts = ("session_id", "event", "onset_date", "reported_date", "severity", "outcome")
        return {k: str(data.get(k, "")) for k in texts} | {"serious": "yes" if data.get("serious") else ""}
    raise ValueError(f"no form for {kind}")


def _correcting(spec: PageKind, row: VersionedRow, patient: PatientRead) -> dict[str, Any]:
    """What the forms show when they correct a record: where to post, the reason, the version,
    and the fields the form has no inputs for (carried over unchanged as hidden inputs)."""
    kept = {k: row.data[k] for k in spec.hidden if row.data.get(k) not in (None, [], "")}
    return {
        "id": row.id,
        "version": row.version,
        "action": f"/patients/{patient.id}/records/{spec.name}/{row.id}/correct",
        "hidden": injection_form.flat(kept) if kept else {},
        "label": spec.label,
    }


def _extra(kind: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """The pickers a form needs beside its values (``fields``: the form's values as posted)."""
    if kind == "assessment":
        return record_forms.assessment_extra(fields)
    if kind == "screening":
        return record_forms.screening_extra()
    if kind == "outcome":
        return record_forms.outcome_extra(str(dict(fields).get("instrument", "")))
    if kind == "adverse_event":
        return adverse_event_form.adverse_event_extra()
    return {}


BUILD: dict[str, Callable[[list[tuple[str, str]], PatientRead], dict[str, Any]]] = {
    "screening": record_forms.screening_doc,
    "assessment": record_forms.assessment_doc,
    "therapy_plan": record_forms.plan_doc,
    "therapy_visit": record_forms.visit_doc,
    "outcome": record_forms.outcome_doc,
    "adverse_event": adverse_event_form.adverse_event_doc,
}


def _parse_with_reason(schema: type[M], doc: dict[str, Any], reason: str) -> M:
    """The corrected record and the reason, every error at once (nothing is saved on any)."""
    errors = reason_errors(reason, "corrected")
    try:
        data = parse(schema, doc)
    except InputError as exc:
        raise InputError(errors + exc.errors) from None
    if errors:
        raise InputError(errors)
    return data


def _correctable(kind: str) -> PageKind:
    spec = _kind(kind)
    if kind not in WITH_FORM:
        raise PageProblem(404, "Not found", f"A {spec.label} is corrected through the API (no form yet).")
    return spec


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/correct", response_class=HTMLResponse)
def correct_form(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    """The record's form, filled in with the current version, and a required reason."""
    spec = _correctable(kind)
    allow(request, principal, spec.roles)
    patient, row = _current(db, principal, patient_id, spec, record_id)
    correcting = _correcting(spec, row, patient)
    values = form_values(kind, row.data)
    if kind == "injection_session":
        decision = None
        with suppress(InputError):  # the engine's view of the plan as it stands now
            plan = parse(SessionCreate, _plan_of(row))
            _record, decision = injections.judge(db=db, actor=principal.actor, data=plan, exclude=row.id)
        return injection_form._form(
            request, db, principal, patient, values, decision=decision, correcting=correcting
        )
    if kind == "patient":
        return intake.patient_form(request, principal, values, {}, patient=patient, correcting=correcting)
    if kind == "episode":
        return intake.episode_form(request, principal, patient, values, {}, correcting=correcting)
    assert spec.form is not None
    extra = _extra(kind, [(k, v) for k, v in values.items() if isinstance(v, str)])
    return record_forms.show_form(
        request, db, principal, patient, spec.form, values, correcting=correcting, **extra
    )


def _plan_of(row: VersionedRow) -> dict[str, Any]:
    return {k: v for k, v in row.data.items() if k in SessionCreate.model_fields}


@router.post("/patients/{patient_id}/records/{kind}/{record_id}/correct", response_class=HTMLResponse)
def correct_post(
    request: Request,
    patient_id: str,
    kind: str,
    record_id: str,
    db: SessionDep,
    principal: PageUser,
    items: FormItems,
) -> Response:
    """Save the correction all or nothing, or show the form again with the errors inline."""
    spec = _correctable(kind)
    allow(request, principal, spec.roles)
    check_csrf(request, principal, csrf_of(items))
    patient, row = _current(db, principal, patient_id, spec, record_id)
    correcting = _correcting(spec, row, patient)
    reason = dict(items).get("reason", "")
    schema, update = CORRECTABLE[kind].schema, CORRECTABLE[kind].update

    def write(doc: dict[str, Any]) -> object:
        return update(
            db,
            principal.actor,
            record_id,
            _parse_with_reason(schema, doc, reason),
            reason,
            author_clinician_id=principal.user.clinician_id,
        )

    if kind == "injection_session":
        return _correct_session(request, db, principal, patient, items, correcting, write)
    if kind == "patient":
        return intake.save_patient(
            request,
            db,
            principal,
            items,
            lambda doc: patients.update_patient(
                db=db,
                actor=principal.actor,
                patient_id=record_id,
                data=_parse_with_reason(PatientCreate, doc, reason),
                reason=reason,
            ),
            "patient_corrected",
            patient=patient,
            correcting=correcting,
        )
    if kind == "episode":
        labels = {d["code"]: d.get("label", "") for d in row.data.get("diagnosis_codes", [])}
        return intake.save_episode(
            request,
            db,
            principal,
            patient,
            items,
            write,
            "episode_corrected",
            correcting=correcting,
            labels=labels,
        )
    assert spec.form is not None
    build = BUILD[kind]
    corrected = spec.form.model_copy(update={"kind": f"{spec.name}_corrected"})
    return record_forms.post_form(
        request,
        db,
        principal,
        patient.id,
        items,
        corrected,
        lambda fields, p: build([(k, v) for k, v in fields if k != "reason"], p),
        write,
        correcting=correcting,
        **_extra(kind, items),
    )


def _correct_session(
    request: Request,
    db: Session,
    principal: Principal,
    patient: PatientRead,
    items: list[tuple[str, str]],
    correcting: dict[str, Any],
    write: Callable[[dict[str, Any]], object],
) -> Response:
    from bontrack.web.forms import nest

    fields = [(k, v) for k, v in items if k not in ("csrf_token", "reason")]
    doc = nest(fields) | {"patient_id": patient.id}
    saved, errors, status = save(db, lambda: write(doc))
    if saved is not None:
        return RedirectResponse(
            f"/patients/{patient.id}?saved=injection_session_corrected&session={correcting['id']}", 303
        )
    if status == 409:
        errors["override"] = (
            "The engine blocks this plan. To save the correction anyway, choose the responsible "
            "clinician and write the reason for the override below."
        )
    decision = None
    with suppress(InputError):
        plan = parse(SessionCreate, doc)
        _record, decision = injections.judge(
            db=db, actor=principal.actor, data=plan, exclude=correcting["id"]
        )
    values = injection_form.flat(doc) | {"reason": dict(items).get("reason", "")}
    return injection_form._form(
        request,
        db,
        principal,
        patient,
        values,
        errors=errors,
        decision=decision,
        status=status,
        correcting=correcting,
    )


# the chart timeline's lists, by the record type each holds
TIMELINE_LISTS = {
    "assessments": "assessment",
    "screenings": "screening",
    "sessions": "injection_session",
    "adverse_events": "adverse_event",
    "plans": "therapy_plan",
    "visits": "therapy_visit",
    "outcomes": "outcome",
}


def withdrawn_lists(db: Session, principal: Principal, patient_id: str) -> dict[str, list[Stored[Any]]]:
    """The patient's withdrawn records, as the chart timeline's lists (audited reads)."""
    from bontrack.corrections import withdrawn_of_patient

    out: dict[str, list[Stored[Any]]] = {}
    for name, record_type in TIMELINE_LISTS.items():
        kind = KINDS[record_type]
        rows = withdrawn_of_patient(db, row_cls=kind.row, actor=principal.actor, patient_id=patient_id)
        out[name] = [records.to_read(r, kind.schema) for r in rows]
    return out
