"""How each record kind's correction looks on a page: the form it was entered with, filled in.

One ``CorrectionForm`` per kind a user corrects on the chart: how a stored record becomes the
form's values, how the form is shown, and how the posted form is saved (with ``write``, which
parses the corrected record with the reason and calls the kind's service). The generic view
(web/views/corrections.py) looks a kind's form up in ``FORMS``; a kind without one is corrected
through the API only (its "Correct" link is not shown).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.assessments.kind import ASSESSMENT
from bontrack.errors import InputError
from bontrack.injections import ae_terms
from bontrack.injections import service as injections
from bontrack.injections.kind import ADVERSE_EVENT, INJECTION_SESSION
from bontrack.injections.schemas import SessionCreate
from bontrack.outcomes.kind import OUTCOME
from bontrack.patients.kind import EPISODE, PATIENT
from bontrack.patients.schemas import PatientCreate, PatientRead
from bontrack.record_kind import AnyKind
from bontrack.records import VersionedRow
from bontrack.schemas import parse
from bontrack.screening.kind import SCREENING
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT
from bontrack.web.deps import Principal
from bontrack.web.views import adverse_event_form, form_pages, injection_form, intake, record_forms
from bontrack.web.views.common import save

Fields = list[tuple[str, str]]
Write = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True, kw_only=True)
class Correcting:
    """One correction on a page: who, whose record, its current version, and what the forms
    show when they correct (``form``: where to post, the version, the hidden inputs, the label)."""

    request: Request
    db: Session
    principal: Principal
    patient: PatientRead
    row: VersionedRow
    form: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CorrectionForm:
    """A record kind's correction form: ``values`` (stored record -> the form's values), ``show``
    (the form filled in), ``save`` (the posted form saved with ``write``, or shown again with the
    errors inline); ``hidden``: stored fields the form has no inputs for, carried over unchanged."""

    kind: AnyKind
    values: Callable[[dict[str, Any]], dict[str, Any]]
    show: Callable[[Correcting, dict[str, Any]], Response]
    save: Callable[[Correcting, Fields, Write], Response]
    hidden: tuple[str, ...] = ()
    # a stored value as the history page shows it, by field path (codes in words)
    shown: Callable[[str, str], str] | None = None


def _lines(items: list[str]) -> str:
    return "\n".join(items)


def _yes_no(value: Any) -> str:
    if value is True:
        return "yes"
    return "no" if value is False else ""


# ---- the forms of record_forms and adverse_event_form ------------------------------------------


def _record_form(
    kind: AnyKind,
    form: form_pages.FormSpec,
    values: Callable[[dict[str, Any]], dict[str, Any]],
    build: Callable[[Fields, PatientRead], dict[str, Any]],
    extra: Callable[[Fields], dict[str, Any]] = lambda _fields: {},
    shown: Callable[[str, str], str] | None = None,
) -> CorrectionForm:
    """A correction with one of the record_forms forms (``extra``: the pickers it needs beside
    its values, given the values as posted)."""
    corrected = form.model_copy(update={"kind": f"{kind.name}_corrected"})

    def show(c: Correcting, shown: dict[str, Any]) -> Response:
        more = extra([(k, v) for k, v in shown.items() if isinstance(v, str)])
        return form_pages.show_form(
            c.request, c.db, c.principal, c.patient, form, shown, correcting=c.form, **more
        )

    def save_form(c: Correcting, items: Fields, write: Write) -> Response:
        return form_pages.post_form(
            c.request,
            c.db,
            c.principal,
            c.patient.id,
            items,
            corrected,
            lambda fields, p: build([(k, v) for k, v in fields if k != "reason"], p),
            write,
            correcting=c.form,
            **extra(items),
        )

    return CorrectionForm(kind=kind, values=values, show=show, save=save_form, shown=shown)


def _screening_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": data["date"],
        **{state: _yes_no(data.get(state)) for state in record_forms.STATES},
        "allergies": list(data.get("allergies", [])),
        "conditions": list(data.get("conditions", [])),
        "medications": _lines(data.get("medications", [])),
    }


def _assessment_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: data.get(k, "") for k in ("episode_id", "date", "assessor_id", "guidance_notes")}
    for tp in data.get("trigger_points", []):
        key = f"tp.{tp['muscle']}.{tp['side']}"
        values[f"{key}.present"] = "on"
        values |= {f"{key}.{c}": "on" for c in record_forms.CRITERIA if tp.get(c)}
    for i, ppt in enumerate(data.get(record_forms.PPT, [])):
        values |= {f"{record_forms.PPT}[{i}].{k}": str(v) for k, v in ppt.items()}
    return values


def _plan_values(data: dict[str, Any]) -> dict[str, Any]:
    plain = ("episode_id", "therapist_id", "start_date", "weeks", "visits_per_week")
    return {k: str(data[k]) for k in plain} | {
        "goals": _lines(data.get("goals", [])),
        "exercises": _lines(data.get("exercises", [])),
    }


def _visit_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: str(data.get(k, "")) for k in ("plan_id", "date", "therapist_id", "notes")} | {
        "attended": _yes_no(data.get("attended"))
    }


def _outcome_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: str(data[k]) for k in ("episode_id", "date", "instrument")}
    for k in ("session_id", "weeks_after_session"):
        if data.get(k) is not None:
            values[k] = str(data[k])
    return values | {f"answers.{item}": str(v) for item, v in data["answers"].items() if v is not None}


def _adverse_event_values(data: dict[str, Any]) -> dict[str, Any]:
    texts = (
        "session_id",
        "event",
        "onset_date",
        "reported_date",
        "severity",
        "status",
        "relatedness",
        "outcome",
    )
    return {k: str(data.get(k) or "") for k in texts} | {"serious": "yes" if data.get("serious") else ""}


# ---- intake's forms: the patient and the episode ---------------------------------------------


def _show_patient(c: Correcting, values: dict[str, Any]) -> Response:
    return intake.patient_form(c.request, c.principal, values, {}, patient=c.patient, correcting=c.form)


def _save_patient(c: Correcting, items: Fields, write: Write) -> Response:
    return intake.save_patient(
        c.request, c.db, c.principal, items, write, "patient_corrected", patient=c.patient, correcting=c.form
    )


def _show_episode(c: Correcting, values: dict[str, Any]) -> Response:
    return intake.episode_form(c.request, c.principal, c.patient, values, {}, correcting=c.form)


def _save_episode(c: Correcting, items: Fields, write: Write) -> Response:
    # the codes' labels of the version corrected (the form has no input for them)
    labels = {d["code"]: d.get("label", "") for d in c.row.data.get("diagnosis_codes", [])}
    return intake.save_episode(
        c.request,
        c.db,
        c.principal,
        c.patient,
        items,
        write,
        "episode_corrected",
        correcting=c.form,
        labels=labels,
    )


# ---- the injection session: judged again -----------------------------------------------------


def _session_values(data: dict[str, Any]) -> dict[str, Any]:
    values = injection_form.flat({k: v for k, v in data.items() if k in SessionCreate.model_fields})
    # the blocks are acknowledged again at each save (the corrected plan is judged again)
    values.pop(injection_form.ACKNOWLEDGED, None)
    return values


def _judged(c: Correcting, plan: dict[str, Any]) -> Any:
    """The engine's view of the plan (None when the plan does not parse)."""
    with suppress(InputError):
        parsed = parse(SessionCreate, plan)
        _record, decision = injections.judge(db=c.db, actor=c.principal.actor, data=parsed, exclude=c.row.id)
        return decision
    return None


def _show_session(c: Correcting, values: dict[str, Any]) -> Response:
    plan = {k: v for k, v in c.row.data.items() if k in SessionCreate.model_fields}
    return injection_form.session_form(
        c.request, c.db, c.principal, c.patient, values, decision=_judged(c, plan), correcting=c.form
    )


def _save_session(c: Correcting, items: Fields, write: Write) -> Response:
    doc = injection_form.session_doc(items, leave_out=("csrf_token", "reason")) | {"patient_id": c.patient.id}
    saved, errors, status = save(c.db, lambda: write(doc), injection_form.LABELS)
    if saved is not None:
        return RedirectResponse(
            f"/patients/{c.patient.id}?saved=injection_session_corrected&session={c.row.id}", 303
        )
    decision = _judged(c, doc)
    ticked = [v for k, v in items if k == injection_form.ACKNOWLEDGED]
    # (a stale version's 409 names "version", not "override": no override words then)
    errors = injection_form.override_errors(
        errors,
        status,
        decision,
        ticked,
        correcting=True,
        reason=str(dict(items).get(injection_form.REASON, "")),
    )
    values = injection_form.flat(doc) | {"reason": dict(items).get("reason", "")}
    return injection_form.session_form(
        c.request,
        c.db,
        c.principal,
        c.patient,
        values,
        errors=errors,
        decision=decision,
        status=status,
        correcting=c.form,
    )


FORMS: dict[str, CorrectionForm] = {
    form.kind.name: form
    for form in (
        CorrectionForm(
            kind=PATIENT,
            values=lambda data: {k: str(data[k]) for k in PatientCreate.model_fields},
            show=_show_patient,
            save=_save_patient,
        ),
        CorrectionForm(kind=EPISODE, values=intake.episode_values, show=_show_episode, save=_save_episode),
        _record_form(
            SCREENING,
            record_forms.SCREENING,
            _screening_values,
            record_forms.screening_doc,
            lambda _fields: record_forms.screening_extra(),
        ),
        _record_form(
            ASSESSMENT,
            record_forms.ASSESSMENT,
            _assessment_values,
            record_forms.assessment_doc,
            record_forms.assessment_extra,
        ),
        CorrectionForm(
            kind=INJECTION_SESSION,
            values=_session_values,
            show=_show_session,
            save=_save_session,
            hidden=("vial_id", "administered_at"),
        ),
        _record_form(
            ADVERSE_EVENT,
            adverse_event_form.ADVERSE_EVENT,
            _adverse_event_values,
            adverse_event_form.adverse_event_doc,
            lambda _fields: adverse_event_form.adverse_event_extra(),
            ae_terms.history_words,
        ),
        _record_form(THERAPY_PLAN, record_forms.PLAN, _plan_values, record_forms.plan_doc),
        _record_form(THERAPY_VISIT, record_forms.VISIT, _visit_values, record_forms.visit_doc),
        _record_form(
            OUTCOME,
            record_forms.OUTCOME,
            _outcome_values,
            record_forms.outcome_doc,
            lambda fields: record_forms.outcome_extra(str(dict(fields).get("instrument", ""))),
        ),
    )
}
