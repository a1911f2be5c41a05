"""Correcting and withdrawing a chart's records, and reading their history, on pages.

"Correct" opens the form the record was entered with, filled in with the current version, plus a
required reason; the services check the corrected record exactly as when it was created (an
injection session is judged again). "Withdraw" asks for the reason on a confirmation page.
"History" shows every version with who, when and why, and the fields each version changed.
Every post carries the CSRF token; roles are those that may create the record type.

One generic view over the registry of record kinds (bontrack.kinds): what differs between kinds is
in the kinds themselves and in their correction forms (web/views/correction_specs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bontrack.errors import InputError, NotFoundError, reason_errors
from bontrack.injections.authority import Author
from bontrack.kinds import CORRECTABLE, TIMELINE
from bontrack.patients.schemas import PatientRead
from bontrack.record_kind import AnyKind
from bontrack.records import Stored, VersionedRow
from bontrack.repository import Repository, correct, expecting, withdraw_record
from bontrack.schemas import parse
from bontrack.web.deps import READ_CLINICAL, PageUser, Principal, SessionDep
from bontrack.web.linked_records import Linked, link_fields, linked_words
from bontrack.web.plain import label
from bontrack.web.views import injection_form
from bontrack.web.views.common import (
    FormItems,
    PageProblem,
    allow,
    carry_denial,
    check_csrf,
    csrf_of,
    page,
    patient_for,
    patient_for_history,
    save,
)
from bontrack.web.views.correction_specs import FORMS, Correcting, CorrectionForm

router = APIRouter(include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
Shown = str | Linked  # a value on the history page: words, or a linked record's words and page


def actions_for(principal: Principal) -> dict[str, dict[str, bool]]:
    """What the user may do with each record type on the chart (the links shown)."""
    return {
        name: {
            "write": principal.role in k.write_roles,
            "correct": name in FORMS and principal.role in k.write_roles,
        }
        for name, k in CORRECTABLE.items()
    }


def _kind(name: str) -> AnyKind:
    kind = CORRECTABLE.get(name)
    if kind is None:
        raise PageProblem(404, "Not found", "There is no such kind of record.")
    return kind


def _versions(
    db: Session, principal: Principal, patient_id: str, kind: AnyKind, record_id: str
) -> tuple[PatientRead, list[VersionedRow]]:
    """The patient (in the user's clinic; withdrawn too) and every version of one of their
    records (audited)."""
    patient = patient_for_history(db, principal, patient_id)
    missing = PageProblem(404, "Not found", f"There is no such {kind.label} in this chart.")
    try:
        rows = Repository.of(kind).versions(db, principal.actor, record_id)
    except NotFoundError as exc:
        raise carry_denial(missing, exc) from None
    if kind.owner(rows[-1]) != patient.id:  # another patient's record (of this clinic: the service scopes)
        raise missing
    return patient, list(rows)


def _current(
    db: Session, principal: Principal, patient_id: str, kind: AnyKind, record_id: str
) -> tuple[PatientRead, VersionedRow]:
    """The patient and the current version of their record (withdrawn: a 404 page; audited)."""
    patient = patient_for(db, principal, patient_id)
    missing = PageProblem(
        404, "Not found", f"There is no such {kind.label} in this chart, or it is withdrawn."
    )
    try:
        row = Repository.of(kind).current_row(db, principal.actor, record_id, purpose="correction")
    except NotFoundError as exc:
        raise carry_denial(missing, exc) from None
    if kind.owner(row) != patient.id:  # another patient's record (of this clinic: the service scopes)
        raise missing
    return patient, row


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


def changes(
    before: dict[str, Any] | None, after: dict[str, Any], shown: Callable[[str, str], Shown] | None = None
) -> list[tuple[str, Shown, Shown]]:
    """(field label, before, after) for every field that differs; all fields for the first version.
    ``shown`` gives a field's value in words (an adverse event's coded status and relatedness, a
    linked record: ``web.linked_records``)."""
    words = shown if shown is not None else (lambda _path, value: value)
    old: dict[str, Shown] = {k: words(k, v) for k, v in (flat_values(before) if before else {}).items()}
    new: dict[str, Shown] = {k: words(k, v) for k, v in flat_values(after).items()}
    names = list(new) + [n for n in old if n not in new]
    # each field by its label, as the forms name it ("Onset date", "Injection site 2: units")
    return [(label(n), old.get(n, "—"), new.get(n, "—")) for n in names if old.get(n) != new.get(n)]


def _shown(
    db: Session, principal: Principal, patient: PatientRead, kind: AnyKind, rows: list[VersionedRow]
) -> Callable[[str, str], Shown]:
    """A stored value as the history page shows it: a linked record in words (all of the page's
    looked up at once), a code in words (the kind's form's ``shown``), anything else as stored."""
    form = FORMS.get(kind.name)
    coded = form.shown if form is not None and form.shown is not None else (lambda _path, value: value)
    fields = link_fields(kind)
    linked = linked_words(db, principal, patient, fields, [row.data for row in rows])
    return lambda path, value: linked(path, value) if path in fields else coded(path, value)


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/history", response_class=HTMLResponse)
def record_history(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    """Every version of a record, oldest first: who, when, why, and what changed."""
    known = CORRECTABLE.get(kind)
    allow(request, principal, known.read_roles if known is not None else READ_CLINICAL)
    spec = _kind(kind)
    patient, rows = _versions(db, principal, patient_id, spec, record_id)
    versions = []
    shown = _shown(db, principal, patient, spec, rows)  # codes and linked records in words
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
                "changes": []
                if what == "withdrawn"
                else changes(before.data if before else None, row.data, shown),
            }
        )
    return page(
        request,
        principal,
        "record_history.html",
        patient=patient,
        kind=spec,
        record_id=record_id,
        title=spec.heading(rows[-1].data),
        versions=versions,
        current=rows[-1],
        actions=actions_for(principal)[kind],
    )


# ---- withdraw ----------------------------------------------------------------------------------


def _withdraw_page(
    request: Request,
    principal: Principal,
    patient: PatientRead,
    spec: AnyKind,
    row: VersionedRow,
    *,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
    version: int | None = None,
) -> Response:
    """The confirmation page; ``version``: the one it was opened at (the current one when None),
    posted back so a withdrawal confirmed after someone else's change is refused."""
    return page(
        request,
        principal,
        "record_withdraw.html",
        status=status,
        patient=patient,
        kind=spec,
        row=row,
        title=spec.heading(row.data),
        values={"reason": reason},
        errors=errors or {},
        version=row.version if version is None else version,
        history=f"/patients/{patient.id}/records/{spec.name}/{row.id}/history",
    )


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/withdraw", response_class=HTMLResponse)
def withdraw_form(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    spec = _kind(kind)
    allow(request, principal, spec.write_roles)
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
    allow(request, principal, spec.write_roles)
    check_csrf(request, principal, csrf_of(items))
    patient, row = _current(db, principal, patient_id, spec, record_id)
    reason = dict(items).get("reason", "")
    version = opened_at(items)

    def write() -> Any:
        with expecting(db, record_id, version):
            return withdraw_record(spec, db, principal.actor, record_id, reason)

    done, errors, status = save(db, write)
    if done is not None:
        back = "/patients" if spec.patient_field is None else f"/patients/{patient.id}"
        return RedirectResponse(f"{back}?saved={kind}_withdrawn", 303)
    return _withdraw_page(
        request, principal, patient, spec, row, reason=reason, errors=errors, status=status, version=version
    )


def opened_at(items: FormItems) -> int | None:
    """The version a correction or withdrawal form was opened at (its hidden ``version``; None
    when absent, e.g. a form opened before the pages sent it: then no version is checked)."""
    text = dict(items).get("version", "").strip()
    if text and not text.isdigit():
        raise PageProblem(
            400, "Not saved", "This form is damaged (its version is not a number). Open it again."
        )
    return int(text) if text else None


# ---- correct ----------------------------------------------------------------------------------


def _form_of(kind: str) -> tuple[AnyKind, CorrectionForm]:
    spec = _kind(kind)
    form = FORMS.get(kind)
    if form is None:
        raise PageProblem(404, "Not found", f"A {spec.label} is corrected through the API (no form yet).")
    return spec, form


def _correcting(
    request: Request,
    db: Session,
    principal: Principal,
    patient_id: str,
    kind: str,
    record_id: str,
    items: FormItems | None = None,
) -> tuple[AnyKind, CorrectionForm, Correcting]:
    """The kind, its form and the correction: the patient and the current version of their
    record (withdrawn: a 404 page; audited), the fields the form has no inputs for (carried over
    unchanged as hidden inputs). A post (``items``) carries the CSRF token."""
    spec, form = _form_of(kind)
    allow(request, principal, spec.write_roles)
    if items is not None:
        check_csrf(request, principal, csrf_of(items))
    patient, row = _current(db, principal, patient_id, spec, record_id)
    kept = {k: row.data[k] for k in form.hidden if row.data.get(k) not in (None, [], "")}
    opened = opened_at(items) if items is not None else None
    shown = {
        "id": row.id,
        "version": row.version if opened is None else opened,  # posted back: checked when saved
        "action": f"/patients/{patient.id}/records/{spec.name}/{row.id}/correct",
        "history": f"/patients/{patient.id}/records/{spec.name}/{row.id}/history",
        "hidden": injection_form.flat(kept) if kept else {},
        "label": spec.label,
    }
    correcting = Correcting(request=request, db=db, principal=principal, patient=patient, row=row, form=shown)
    return spec, form, correcting


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


@router.get("/patients/{patient_id}/records/{kind}/{record_id}/correct", response_class=HTMLResponse)
def correct_form(
    request: Request, patient_id: str, kind: str, record_id: str, db: SessionDep, principal: PageUser
) -> Response:
    """The record's form, filled in with the current version, and a required reason."""
    _spec, form, correcting = _correcting(request, db, principal, patient_id, kind, record_id)
    return form.show(correcting, form.values(correcting.row.data))


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
    spec, form, correcting = _correcting(request, db, principal, patient_id, kind, record_id, items)
    reason = dict(items).get("reason", "")
    assert spec.correction is not None  # a correctable kind has its correction schema
    schema = spec.correction
    extra = {"author": Author(principal.user.clinician_id)} if spec.authored else {}

    version = opened_at(items)

    def write(doc: dict[str, Any]) -> Any:
        data = _parse_with_reason(schema, doc, reason)
        with expecting(db, record_id, version):  # refused if someone saved another version since
            return correct(spec, db, principal.actor, record_id, data, reason, **extra)

    return form.save(correcting, [(k, v) for k, v in items if k != "version"], write)


def withdrawn_lists(db: Session, principal: Principal, patient_id: str) -> dict[str, list[Stored[Any]]]:
    """The patient's withdrawn records, as the chart timeline's lists (audited reads)."""
    return {
        name: Repository.of(kind).withdrawn_of_patient(db, principal.actor, patient_id)
        for name, kind in TIMELINE.items()
    }


def timeline_lists(db: Session, principal: Principal, patient_id: str) -> dict[str, list[Stored[Any]]]:
    """The patient's current records, as the chart timeline's lists (audited reads)."""
    return {
        name: Repository.of(kind).of_patient(db, principal.actor, patient_id)
        for name, kind in TIMELINE.items()
    }
