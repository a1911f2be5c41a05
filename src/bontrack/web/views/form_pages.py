"""The page machinery the record forms share (bontrack.web.views.record_forms, adverse_event_form,
and their corrections in correction_specs): a form's ``FormSpec`` (kind, roles, template), the
pickers every form offers (``form_context``: episodes, clinicians, sessions, therapy plans),
showing a form (``show_form``) and handling its POST (``post_form``: the roles and CSRF token
checked, the fields turned into the service's input, saved all or nothing, then back to the chart
or the form shown again with the errors inline).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bontrack.auth.schemas import Role
from bontrack.injections.service import sessions_of_patient
from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import clinicians_of_clinic, episodes_of_patient
from bontrack.therapy.service import plans_of_patient
from bontrack.web.deps import Principal
from bontrack.web.display import session_words
from bontrack.web.views.common import allow, check_csrf, csrf_of, page, patient_for, save


def form_context(db: Session, principal: Principal, patient: PatientRead) -> dict[str, Any]:
    """The pickers every form shares: episodes, clinicians, sessions, therapy plans."""
    actor = principal.actor
    episodes = episodes_of_patient(db=db, actor=actor, patient_id=patient.id)
    return {
        "patient": patient,
        "episodes": [(e.id, f"from {e.data.pain_onset_date}") for e in reversed(episodes)],
        "clinicians": [
            (c.id, f"{c.data.name} ({c.data.role})")
            for c in clinicians_of_clinic(db=db, actor=actor, clinic_id=patient.clinic_id)
        ],
        "sessions": [
            (s.id, session_words(s))
            for s in reversed(sessions_of_patient(db=db, actor=actor, patient_id=patient.id))
        ],
        "plans": [
            (p.id, f"from {p.data.start_date}, {p.data.weeks} weeks")
            for p in reversed(plans_of_patient(db=db, actor=actor, patient_id=patient.id))
        ],
    }


class FormSpec(BaseModel):
    """One form: who may use it, its template, and how its fields become the service's input."""

    kind: str
    roles: tuple[Role, ...]
    template: str


def show_form(
    request: Request,
    db: Session,
    principal: Principal,
    patient: PatientRead,
    spec: FormSpec,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = form_context(db, principal, patient) | extra
    return page(request, principal, spec.template, status=status, values=values, errors=errors or {}, **ctx)


def post_form(
    request: Request,
    db: Session,
    principal: Principal,
    patient_id: str,
    items: list[tuple[str, str]],
    spec: FormSpec,
    build: Callable[[list[tuple[str, str]], PatientRead], dict[str, Any]],
    write: Callable[[dict[str, Any]], object],
    *,
    more: Callable[[Any], str] | None = None,
    **extra: Any,
) -> Response:
    """Save the form's record and go to the chart (``more``: what the chart's address adds for the
    record saved, e.g. the visit whose warnings it shows); or the form again with its errors."""
    allow(request, principal, spec.roles)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)
    fields = [(k, v) for k, v in items if k != "csrf_token"]
    doc = build(fields, patient)
    saved, errors, status = save(db, lambda: write(doc))
    if saved is not None:
        added = f"&{more(saved)}" if more is not None else ""
        return RedirectResponse(f"/patients/{patient.id}?saved={spec.kind}{added}", 303)
    values = {k: v for k, v in fields} | {
        k: [v for n, v in fields if n == k] for k in ("allergies", "conditions")
    }
    return show_form(request, db, principal, patient, spec, values, errors, status, **extra)
