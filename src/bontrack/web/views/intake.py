"""Registering a patient and opening a pain episode: the first two steps of the pathway.

The episode form shows, beside it, who the pathway is for: the knowledge base's thresholds
(chronic pain, conservative care first) with their sources, never numbers written here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bontrack.errors import FieldError, InputError
from bontrack.knowledge import KnowledgeBase, load_knowledge
from bontrack.knowledge.models import Sourced
from bontrack.patients import service as patients
from bontrack.patients.schemas import EpisodeCreate, PatientCreate, PatientRead, Sex
from bontrack.schemas import parse
from bontrack.web.deps import WRITE_EPISODES, WRITE_PATIENTS, PageUser, Principal, SessionDep
from bontrack.web.forms import nest
from bontrack.web.views.common import (
    FormItems,
    PageProblem,
    allow,
    check_csrf,
    csrf_of,
    page,
    patient_for,
    save,
)

router = APIRouter(include_in_schema=False)

# The usual ICD-10-CM codes of myofascial neck and shoulder pain (FY2023 on: M79.1 is split into
# M79.10-M79.18). Any other code may be typed; the schema checks its form.
DIAGNOSES: tuple[tuple[str, str], ...] = (
    ("M54.2", "Cervicalgia"),
    ("M79.12", "Myalgia of auxiliary muscles, head and neck"),
    ("M79.18", "Myalgia, other site"),
    ("M62.838", "Other muscle spasm"),
    ("M25.511", "Pain in right shoulder"),
    ("M25.512", "Pain in left shoulder"),
)
# Conservative care commonly tried before toxin; anything else may be typed, one a line.
CONSERVATIVE_CARE: tuple[str, ...] = (
    "Exercise / physical therapy",
    "NSAIDs",
    "Other analgesics",
    "Massage",
    "Heat",
    "Stretching",
    "Posture and ergonomic advice",
    "Trigger point dry needling",
)


def _no_clinic(principal: Principal) -> None:
    if principal.user.clinic_id is None:
        raise PageProblem(
            400,
            "No clinic",
            "A patient is registered at the clinic of the user who registers them, and your account "
            "is not tied to one clinic. Ask an administrator, or use POST /api/patients?clinic_id=...",
        )


# ---- patient ---------------------------------------------------------------------------------


def patient_form(
    request: Request,
    principal: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    *,
    patient: PatientRead | None = None,
    correcting: dict[str, Any] | None = None,
) -> Response:
    """The patient form: a new patient, or (``correcting``) a correction of ``patient``."""
    sexes = [(s, s) for s in get_args(Sex)]
    return page(
        request,
        principal,
        "patient_form.html",
        status=status,
        values=values,
        errors=errors,
        sexes=sexes,
        patient=patient,
        correcting=correcting,
    )


def save_patient(
    request: Request,
    db: Session,
    principal: Principal,
    items: list[tuple[str, str]],
    write: Callable[[dict[str, Any]], PatientRead],
    saved_as: str,
    **form: Any,
) -> Response:
    """Save the patient form's fields with ``write`` (create or correct), or show it again with
    the errors inline (``form``: what patient_form needs beside the values)."""
    fields = [(k, v) for k, v in items if k != "csrf_token"]
    doc = nest((k, v) for k, v in fields if k != "reason")
    saved, errors, status = save(db, lambda: write(doc))
    if saved is not None:
        return RedirectResponse(f"/patients/{saved.id}?saved={saved_as}", 303)
    return patient_form(request, principal, dict(fields), errors, status, **form)


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, principal: PageUser) -> Response:
    allow(request, principal, WRITE_PATIENTS)
    _no_clinic(principal)
    return patient_form(request, principal, {}, {})


@router.post("/patients/new", response_class=HTMLResponse)
def post_patient(request: Request, db: SessionDep, principal: PageUser, items: FormItems) -> Response:
    allow(request, principal, WRITE_PATIENTS)
    check_csrf(request, principal, csrf_of(items))
    _no_clinic(principal)
    clinic_id = principal.user.clinic_id or ""

    def write(doc: dict[str, Any]) -> PatientRead:
        data = parse(PatientCreate, doc)
        return patients.create_patient(db=db, actor=principal.actor, clinic_id=clinic_id, data=data)

    return save_patient(request, db, principal, items, write, "patient")


# ---- episode ---------------------------------------------------------------------------------


def _criterion(kb: KnowledgeBase, text: str, fact: Sourced) -> dict[str, str]:
    source = kb.files.sources[fact.source]
    return {
        "text": text,
        "where": fact.where,
        "note": fact.note,
        "title": source.title,
        "url": source.url if source.url.startswith(("https://", "http://")) else "",
        "confidence": source.confidence,
    }


def pathway_criteria(kb: KnowledgeBase) -> list[dict[str, str]]:
    """Who the pathway is for, each criterion with its source (numbers from the knowledge base)."""
    path = kb.files.pathway
    return [
        _criterion(
            kb,
            f"Chronic pain: at least {path.chronic_pain_min_weeks.value:g} weeks from onset "
            "to the injection date.",
            path.chronic_pain_min_weeks,
        ),
        _criterion(
            kb,
            f"Conservative care tried first, for at least {path.conservative_care_min_weeks.value:g} weeks, "
            "with temporary or no relief.",
            path.conservative_care_min_weeks,
        ),
        _criterion(kb, "Physical therapy planned alongside the injections.", path.physical_therapy_alongside),
        _criterion(
            kb, "A trigger point documented in each muscle to be injected.", path.trigger_point_per_muscle
        ),
    ]


def episode_form(
    request: Request,
    principal: Principal,
    patient: PatientRead,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    *,
    correcting: dict[str, Any] | None = None,
) -> Response:
    """The episode form: a new episode, or (``correcting``) a correction of one."""
    return page(
        request,
        principal,
        "episode_form.html",
        status=status,
        patient=patient,
        values=values,
        errors=errors,
        diagnoses=DIAGNOSES,
        care=CONSERVATIVE_CARE,
        criteria=pathway_criteria(load_knowledge()),
        correcting=correcting,
    )


def _lines(text: str) -> list[str]:
    """Typed entries, one a line (commas also separate codes)."""
    return [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]


def episode_doc(fields: list[tuple[str, str]], patient: PatientRead) -> tuple[dict[str, Any], int, int]:
    """The EpisodeCreate document, and how many codes and care items were ticked (the rest typed)."""
    given = dict(fields)
    labels = dict(DIAGNOSES)
    picked = [v for k, v in fields if k == "diagnosis_codes"]
    codes: list[str] = []
    for code in [*picked, *_lines(given.get("diagnosis_other", ""))]:
        if code.upper() not in codes:  # ticked and typed too: once
            codes.append(code.upper())
    care = [v for k, v in fields if k == "conservative_care"]
    typed_care = [line.strip() for line in given.get("conservative_care_other", "").splitlines()]
    doc = nest(
        (k, v)
        for k, v in fields
        if k not in ("diagnosis_codes", "diagnosis_other", "conservative_care", "conservative_care_other")
    )
    doc |= {
        "patient_id": patient.id,
        "diagnosis_codes": [{"code": c, "label": labels.get(c, "")} for c in codes],
        "conservative_care": care + [line for line in typed_care if line],
    }
    return doc, len(set(picked)), len(care)


def episode_errors(exc: InputError, codes_ticked: int, care_ticked: int) -> InputError:
    """Errors on the inputs the user sees: a typed code's error on the box it was typed in."""
    out = []
    for e in exc.errors:
        field, message = e.field, e.message
        if field == "diagnosis_codes":
            message = "needs at least one ICD-10-CM code: tick one or type it"
        elif field.startswith("diagnosis_codes["):
            index = int(field.split("[")[1].split("]")[0])
            field = "diagnosis_other" if index >= codes_ticked else "diagnosis_codes"
        elif field.startswith("conservative_care["):
            index = int(field.split("[")[1].split("]")[0])
            field = "conservative_care_other" if index >= care_ticked else "conservative_care"
        out.append(FieldError(field, message))
    return InputError(out)


@router.get("/patients/{patient_id}/episodes/new", response_class=HTMLResponse)
def new_episode(request: Request, patient_id: str, db: SessionDep, principal: PageUser) -> Response:
    allow(request, principal, WRITE_EPISODES)
    patient = patient_for(db, principal, patient_id)
    return episode_form(request, principal, patient, {}, {})


@router.post("/patients/{patient_id}/episodes/new", response_class=HTMLResponse)
def post_episode(
    request: Request, patient_id: str, db: SessionDep, principal: PageUser, items: FormItems
) -> Response:
    allow(request, principal, WRITE_EPISODES)
    check_csrf(request, principal, csrf_of(items))
    patient = patient_for(db, principal, patient_id)

    def write(doc: dict[str, Any]) -> object:
        return patients.create_episode(db=db, actor=principal.actor, data=parse(EpisodeCreate, doc))

    return save_episode(request, db, principal, patient, items, write, "episode")


def save_episode(
    request: Request,
    db: Session,
    principal: Principal,
    patient: PatientRead,
    items: list[tuple[str, str]],
    write: Callable[[dict[str, Any]], object],
    saved_as: str,
    *,
    correcting: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> Response:
    """Save the episode form's fields with ``write`` (create or correct), or show it again with
    the errors inline. ``labels``: the codes' labels to keep (a correction keeps those of the
    version it corrects; the form has no input for them)."""
    fields = [(k, v) for k, v in items if k != "csrf_token"]
    doc, codes_ticked, care_ticked = episode_doc([(k, v) for k, v in fields if k != "reason"], patient)
    for code in doc["diagnosis_codes"]:
        code["label"] = (labels or {}).get(code["code"], code["label"])

    def checked() -> object:
        try:
            return write(doc)
        except InputError as exc:
            raise episode_errors(exc, codes_ticked, care_ticked) from None

    saved, errors, status = save(db, checked)
    if saved is not None:
        return RedirectResponse(f"/patients/{patient.id}?saved={saved_as}", 303)
    values: dict[str, Any] = dict(fields) | {
        k: [v for n, v in fields if n == k] for k in ("diagnosis_codes", "conservative_care")
    }
    return episode_form(request, principal, patient, values, errors, status, correcting=correcting)


def episode_values(data: dict[str, Any]) -> dict[str, Any]:
    """A stored episode as the form's values (the inverse of ``episode_doc``): the pick lists'
    items ticked as long as they come in the form's order (ticked items are saved first, in that
    order), the rest typed, so that saving the form unchanged saves the same lists."""
    codes, codes_typed = _ticked(
        [d["code"] for d in data.get("diagnosis_codes", [])], [c for c, _ in DIAGNOSES]
    )
    care, care_typed = _ticked(list(data.get("conservative_care", [])), list(CONSERVATIVE_CARE))
    return {
        "diagnosis_codes": codes,
        "diagnosis_other": "\n".join(codes_typed),
        "pain_onset_date": str(data.get("pain_onset_date", "")),
        "conservative_care": care,
        "conservative_care_other": "\n".join(care_typed),
        "conservative_care_weeks": _number(data.get("conservative_care_weeks", "")),
    }


def _number(value: object) -> str:
    """A stored number as typed: 36, not 36.0 (every digit kept)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ticked(items: list[str], choices: list[str]) -> tuple[list[str], list[str]]:
    """(the leading items that are choices, in the choices' order, each once; the rest)."""
    ticked: list[str] = []
    for item in items:
        if item not in choices or item in ticked:
            break
        if ticked and choices.index(item) < choices.index(ticked[-1]):
            break
        ticked.append(item)
    return ticked, items[len(ticked) :]
