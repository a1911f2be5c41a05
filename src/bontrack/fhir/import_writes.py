"""Recording an import plan through the clinic-scoped services (audited, in the caller's one
transaction), and the transaction-response Bundle that says what became of each entry.

- The patient is matched by record number within the clinic: created, corrected (a new version;
  the earlier one stays) when the EHR's name, birth date or sex differ, or left as it is.
- The pain episode is the patient's current episode that shares a diagnosis code with the
  imported ones: its onset becomes the EHR's and missing codes are added (a correction); none
  shares one: an episode is opened (conservative care not sent: 0 weeks, said in the response).
- Medicines, allergies and conditions go into the screening dated the Bundle's timestamp (else
  today): added to that day's screening if there is one (a correction that keeps its answers),
  else a new screening that carries over the lists of the patient's latest earlier screening
  (nothing a clinician recorded is dropped) with its yes/no questions left unanswered.
- Whatever is already there is not written again: importing the same Bundle twice changes
  nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from bontrack import records
from bontrack.auth.schemas import Role
from bontrack.errors import FieldError, InputError, field_errors
from bontrack.fhir.import_clinical import PatientPlan, Plan
from bontrack.fhir.import_outcome import FhirImportError, Issue, operation_outcome
from bontrack.fhir.import_roles import check_roles
from bontrack.patients import service as patients
from bontrack.patients.kind import EPISODE, PATIENT
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import DiagnosisCode, EpisodeCreate, EpisodeRead, PatientCreate, PatientRead
from bontrack.screening import service as screening
from bontrack.screening.kind import SCREENING
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead

REASON = "Imported from the EHR (FHIR)"


@dataclass
class EntryResult:
    status: str = "200 OK"
    location: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """What became of each entry, each patient, and how many records were created or corrected."""

    entries: list[EntryResult]
    patients: list[tuple[PatientRead, str]]
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    is_bundle: bool = True


@contextmanager
def _said_as(places: dict[str, str], default: str) -> Iterator[None]:
    """A service's refusal as a 422 naming the element the refused value came from."""

    def issue(e: FieldError) -> Issue:
        name = e.field.split("[")[0].split(".")[0]
        return Issue(places.get(name, default), e.message, "business-rule")

    try:
        yield
    except InputError as exc:
        raise FhirImportError(422, [issue(e) for e in exc.errors]) from None
    except ValidationError as exc:
        raise FhirImportError(422, [issue(e) for e in field_errors(exc)]) from None


def write_plan(*, db: Session, actor: str, clinic_id: str, plan: Plan) -> ImportResult:
    """Record the plan at ``clinic_id`` as ``actor``; raises FhirImportError (nothing is kept:
    the caller's transaction rolls back) when a service refuses a value."""
    patients.get_clinic(db=db, actor=actor, clinic_id=clinic_id)
    result = ImportResult([EntryResult() for _ in range(plan.entries)], [], is_bundle=plan.is_bundle)
    for i, notes in plan.notes.items():
        result.entries[i].notes.extend(notes)
    for wanted in plan.patients:
        patient, what = _patient(db, actor, clinic_id, wanted)
        result.patients.append((patient, what))
        result.counts[PATIENT.name, what] += 1
        here = result.entries[wanted.entry or 0]
        here.status = "201 Created" if what == "created" else "200 OK"
        here.location = f"Patient/{patient.id}/_history/{patient.version}"
        here.notes.append(f"patient {patient.data.record_number}: {what}")
        _episode(db, actor, patient, wanted, result)
        _screening(db, actor, patient, wanted, plan, result)
    return result


def _patient(db: Session, actor: str, clinic_id: str, wanted: PatientPlan) -> tuple[PatientRead, str]:
    rows = records.find_current(
        db,
        row_cls=PatientRow,
        actor=actor,
        purpose="FHIR import: match by record number",
        clinic_id=clinic_id,
        record_number=records.Caseless(wanted.data.record_number),  # (as the clinic's are unique)
    )
    path = wanted.path
    places = {
        "record_number": f"{path}.identifier",
        "name": f"{path}.name",
        "birth_date": f"{path}.birthDate",
    }
    with _said_as(places, path):
        if not rows:
            return patients.create_patient(
                db=db, actor=actor, clinic_id=clinic_id, data=wanted.data
            ), "created"
        current = records.to_read(rows[0], PatientCreate)
        # what the EHR sent replaces what the clinic holds; the rest (phone, email) is kept
        sent = wanted.data.model_dump(include=wanted.data.model_fields_set)
        data = PatientCreate.model_validate(current.data.model_dump() | sent)
        if current.data == data:
            return current, "unchanged"
        reason = f"{REASON}: the EHR's name, birth date or sex"
        updated = patients.update_patient(db=db, actor=actor, patient_id=current.id, data=data, reason=reason)
        return updated, "corrected"


def _episode(
    db: Session, actor: str, patient: PatientRead, wanted: PatientPlan, result: ImportResult
) -> None:
    if not wanted.diagnoses:
        return
    codes: dict[str, DiagnosisCode] = {}
    for d in wanted.diagnoses:
        codes.setdefault(d.code, DiagnosisCode(code=d.code, label=d.label))
    onset = min(d.onset for d in wanted.diagnoses)
    first = next(d for d in wanted.diagnoses if d.onset == onset)
    path = f"Bundle.entry[{first.entry}].resource"
    places = {"pain_onset_date": f"{path}.onset", "diagnosis_codes": f"{path}.code"}
    current = patients.episodes_of_patient(db=db, actor=actor, patient_id=patient.id)
    match = next((e for e in current if {c.code for c in e.data.diagnosis_codes} & set(codes)), None)
    note = ""
    with _said_as(places, path):
        if match is None:
            data = EpisodeCreate(
                patient_id=patient.id,
                diagnosis_codes=list(codes.values()),
                pain_onset_date=onset,
                conservative_care_weeks=0,
            )
            episode: EpisodeRead = patients.create_episode(db=db, actor=actor, data=data)
            what = "created"
            note = "; conservative care was not sent: 0 weeks until the episode is corrected"
        else:
            have = {c.code for c in match.data.diagnosis_codes}
            added = [c for code, c in codes.items() if code not in have]
            data = EpisodeCreate.model_validate(
                match.data.model_dump()
                | {"diagnosis_codes": [*match.data.diagnosis_codes, *added], "pain_onset_date": onset}
            )
            if data == match.data:
                episode, what = match, "unchanged"
            else:
                reason = f"{REASON}: the EHR's diagnosis codes and pain onset date"
                episode = patients.update_episode(
                    db=db, actor=actor, episode_id=match.id, data=data, reason=reason
                )
                what = "corrected"
    result.counts[EPISODE.name, what] += 1
    for i in sorted({d.entry for d in wanted.diagnoses if d.entry is not None}):
        entry = result.entries[i]
        entry.status = "201 Created" if what == "created" else "200 OK"
        entry.location = f"Condition/{episode.id}/_history/{episode.version}"
        entry.notes.append(f"pain episode: {what}{note}")


def _union(first: list[str], then: list[str]) -> list[str]:
    """Both lists, each name once (any case), in the order given."""
    seen = {n.strip().lower() for n in first}
    out = list(first)
    for name in then:
        if name.strip().lower() not in seen:
            seen.add(name.strip().lower())
            out.append(name)
    return out


def _screening(
    db: Session, actor: str, patient: PatientRead, wanted: PatientPlan, plan: Plan, result: ImportResult
) -> None:
    sent = {
        "medications": [m for m, _ in wanted.medications],
        "allergies": [a for a, _ in wanted.allergies],
        "conditions": [c for c, _ in wanted.conditions],
    }
    entries = sorted({i for _, i in [*wanted.medications, *wanted.allergies, *wanted.conditions]})
    if not entries:
        return
    day = plan.screening_date
    latest = screening.latest_screening(db=db, actor=actor, patient_id=patient.id, on_or_before=day)
    before = latest.data.model_dump() if latest is not None else {}
    lists = {name: _union(before.get(name, []), items) for name, items in sent.items()}
    places = {
        "date": plan.date_path or "Bundle",
        **{name: f"Bundle.entry[{entries[0]}].resource" for name in sent},
    }
    with _said_as(places, f"Bundle.entry[{entries[0]}].resource"):
        if latest is not None and latest.data.date == day:
            data = ScreeningCreate.model_validate(before | lists)
            if data == latest.data:
                done: ScreeningRead | None = latest
                what = "unchanged"
            else:
                reason = f"{REASON}: the EHR's medicines, allergies and conditions added"
                done = screening.update_screening(
                    db=db, actor=actor, screening_id=latest.id, data=data, reason=reason
                )
                what = "corrected"
        else:
            data = ScreeningCreate.model_validate({"patient_id": patient.id, "date": day, **lists})
            done = screening.create_screening(db=db, actor=actor, data=data)
            what = "created"
            if latest is not None:
                what += f" (with the lists of the screening of {latest.data.date} carried over)"
    assert done is not None
    result.counts[SCREENING.name, what.split(" ")[0]] += 1
    for i in entries:
        entry = result.entries[i]
        entry.status = "201 Created" if what.startswith("created") else "200 OK"
        entry.notes.append(f"screening of {day}: {what}")


def response_bundle(result: ImportResult) -> dict[str, Any]:
    """The transaction-response Bundle: per entry its status, location and what was done."""
    from fhir.resources.R4B.bundle import Bundle

    def entry(e: EntryResult) -> dict[str, Any]:
        response: dict[str, Any] = {"status": e.status}
        if e.location:
            response["location"] = e.location
        if e.notes:
            response["outcome"] = operation_outcome(
                [Issue(None, note, "informational", "information") for note in e.notes]
            )
        return {"response": response}

    body = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [entry(e) for e in result.entries],
    }
    out: dict[str, Any] = Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)
    return out


def import_fhir(
    *, db: Session, actor: str, clinic_id: str, document: Any, today: Any, role: Role | None = None
) -> ImportResult:
    """Parse, check and record a transaction Bundle or a Patient (JSON already decoded). ``role``:
    the user's (the API), whose write roles every entry must respect (403 otherwise, before
    anything is read); None for the command line, run by the registry's operator."""
    from bontrack.fhir.importing import parse, plan_import

    plan = plan_import(parse(document), today)
    if role is not None:
        check_roles(plan, role, actor, clinic_id)
    return write_plan(db=db, actor=actor, clinic_id=clinic_id, plan=plan)
