"""Reading what an EHR sends: a FHIR R4 transaction Bundle (or one Patient), validated with
fhir.resources' models, turned into a plan of what to record. Pure: no database; the writes are
in ``bontrack.fhir.import_writes``.

What is taken, per patient (each clinical resource must refer to a Patient entry of the Bundle):

- ``Patient``: the record number (an identifier with bontrack's own system, else the one of type
  MR, the EHR's medical record number), name, birth date, sex;
- ``Condition`` coded with ICD-10-CM in the neck and shoulder pain codes (``EPISODE_CODES``): a
  diagnosis of the pain episode, with its onset date; a ``Condition`` naming one of the
  conditions screening asks about (myasthenia gravis, ...): a screening condition;
- ``MedicationStatement`` (active, intended, on hold or unknown): a medication, by its name;
- ``AllergyIntolerance`` naming an allergy screening asks about (botulinum toxin, cow's milk
  protein, human albumin).

Anything else is reported in the response, not recorded. Every problem names the FHIRPath of the
offending element, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bontrack.errors import field_errors
from bontrack.fhir.import_outcome import FhirImportError, Issue, issues_of
from bontrack.knowledge import load_knowledge
from bontrack.knowledge.models import ScreeningItem
from bontrack.patients.schemas import DiagnosisCode, PatientCreate

# Code systems (http://hl7.org/fhir/R4/terminologies-systems.html)
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # identifier types: MR = medical record number
# bontrack's own record number: the read facade's fhir.codes.RECORD_NUMBER (same value; on
# merging, import it from there)
RECORD_NUMBER_SYSTEM = "https://bontrack.invalid/fhir/sid/record-number"
# The ICD-10-CM codes (and the families they begin) that make the neck and shoulder pain episode:
# cervicalgia, myalgia (M79.1x), muscle spasm (M62.83x), shoulder pain (M25.51x), cervicobrachial
# syndrome, other cervical dorsopathies. The episode form's list, plus the families they belong to.
EPISODE_CODES = ("M54.2", "M79.1", "M62.83", "M25.51", "M53.1", "M53.82")

IMPORTED = ("Patient", "Condition", "MedicationStatement", "AllergyIntolerance")
_NOT_CURRENT_CONDITION = {"inactive", "resolved"}
_NOT_TRUE = {"refuted", "entered-in-error"}
_NOT_TAKEN = {"completed", "stopped", "not-taken", "entered-in-error"}


@dataclass
class Diagnosis:
    code: str
    label: str
    onset: dt.date
    entry: int | None


@dataclass
class PatientPlan:
    """What to record for one patient, and which entries of the Bundle said so."""

    path: str
    entry: int | None
    refs: set[str]
    data: PatientCreate
    diagnoses: list[Diagnosis] = field(default_factory=list)
    medications: list[tuple[str, int]] = field(default_factory=list)
    allergies: list[tuple[str, int]] = field(default_factory=list)
    conditions: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Plan:
    """The whole import: the patients, the screening date, and a note per entry not recorded."""

    patients: list[PatientPlan]
    entries: int  # how many entries the response has (1 for a lone Patient)
    screening_date: dt.date
    date_path: str
    notes: dict[int, list[str]] = field(default_factory=dict)
    is_bundle: bool = True


def read_document(raw: bytes | str) -> Any:
    """The request body as JSON, else 400 naming what is wrong."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise FhirImportError(
            400, [Issue(None, f"the body is not JSON: {reason}{where}", "structure")]
        ) from None


def parse(document: Any) -> Any:
    """A Bundle or a Patient as fhir.resources R4 models (R4B package, see the README), else 400."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(document, dict):
        raise FhirImportError(400, [Issue(None, "a FHIR resource is a JSON object", "structure")])
    kind = document.get("resourceType")
    if kind not in ("Bundle", "Patient"):
        got = f"{kind!r}" if isinstance(kind, str) else "nothing"
        message = f"must be Bundle (type transaction) or Patient, got {got}"
        raise FhirImportError(400, [Issue("resourceType", message, "not-supported")])
    unknown = []
    entries = document.get("entry") if kind == "Bundle" else None
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            name = resource.get("resourceType")
            try:
                get_fhir_model_class(name if isinstance(name, str) else "")
            except (ValueError, KeyError):
                path = f"Bundle.entry[{i}].resource.resourceType"
                unknown.append(Issue(path, f"{name!r} is not a FHIR R4 resource type", "structure"))
    if unknown:
        raise FhirImportError(400, unknown)
    try:
        return get_fhir_model_class(kind).model_validate(document)
    except ValidationError as exc:
        raise FhirImportError(400, issues_of(exc, kind)) from None
    except (KeyError, ValueError, TypeError) as exc:
        raise FhirImportError(400, [Issue(kind, f"cannot be read as FHIR R4: {exc}", "structure")]) from None


def plan_import(resource: Any, today: dt.date) -> Plan:
    """What the Bundle (or Patient) asks to record; 422 naming every element bontrack cannot use."""
    planner = _Planner(today)
    if resource.get_resource_type() == "Patient":
        patient = planner.patient(resource, "Patient", None, set())
        planner.done()
        assert patient is not None
        return Plan([patient], 1, today, "", is_bundle=False)
    return planner.bundle(resource)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("'", "").replace("\u2019", "")).split()


def _names(concept: Any) -> list[str]:
    """What a CodeableConcept calls itself: its text and its codings' displays, without SNOMED's
    semantic tag ("Myasthenia gravis (disorder)" -> "Myasthenia gravis")."""
    if concept is None:
        return []
    found = [concept.text or ""] + [c.display or "" for c in concept.coding or []]
    return [re.sub(r"\s*\([a-z ]+\)\s*$", "", n).strip() for n in found if n and n.strip()]


def _screening_item(names: list[str], items: dict[str, ScreeningItem], exact: Any) -> str | None:
    """The knowledge base's item a name means: exactly (an id, alias, or a toxin's brand for an
    allergy), or one of its names (4 letters or more) standing as words inside the name."""
    for name in names:
        found = exact(name)
        if found is not None:
            return str(found.item_id)
    for name in names:
        words = _words(name)
        for item_id, item in items.items():
            for phrase in [item_id.replace("_", " "), *item.aliases]:
                said = _words(phrase)
                if len("".join(said)) < 4:
                    continue
                if any(words[k : k + len(said)] == said for k in range(len(words) - len(said) + 1)):
                    return item_id
        for word in words:  # "Allergy to Botox": a product's name means the toxin
            found = exact(word) if len(word) >= 4 else None
            if found is not None:
                return str(found.item_id)
    return None


def _status(concept: Any) -> str | None:
    codes = [c.code for c in (concept.coding or [])] if concept is not None else []
    return codes[0] if codes else None


def _full_date(value: Any) -> dt.date | None:
    """A date (or the date of a date-time); None for a partial date such as '1980' or '1980-05'."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _icd10cm(code: str) -> str:
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


class _Planner:
    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.issues: list[Issue] = []
        self.refused: set[str] = set()  # references to Patients already refused (not said twice)
        self.kb = load_knowledge()

    def problem(self, path: str, message: str, code: Any = "invalid") -> None:
        self.issues.append(Issue(path, message, code))

    def done(self) -> None:
        if self.issues:
            raise FhirImportError(422, self.issues)

    def bundle(self, bundle: Any) -> Plan:
        if bundle.type != "transaction":
            self.problem(
                "Bundle.type",
                f"must be 'transaction' (got {bundle.type!r}): an import is all or nothing",
                "value",
            )
        entries = bundle.entry or []
        if not entries:
            self.problem("Bundle.entry", "is empty: there is nothing to import", "required")
        stamp = _full_date(bundle.timestamp)
        plan = Plan([], len(entries), stamp or self.today, "Bundle.timestamp" if stamp else "")
        medications: dict[str, Any] = {}
        for i, entry in enumerate(entries):
            path = f"Bundle.entry[{i}]"
            if entry.request is None:
                self.problem(
                    f"{path}.request", "is required in a transaction (method POST or PUT)", "required"
                )
            elif entry.request.method not in ("POST", "PUT"):
                self.problem(
                    f"{path}.request.method",
                    f"{entry.request.method} is not supported: bontrack imports by POST or PUT "
                    "(it never deletes a record)",
                    "not-supported",
                )
            if entry.resource is None:
                self.problem(f"{path}.resource", "is required: the resource to import", "required")
                continue
            kind = entry.resource.get_resource_type()
            refs = {r for r in (entry.fullUrl,) if r}
            if entry.resource.id:
                refs.add(f"{kind}/{entry.resource.id}")
            if kind == "Patient":
                found = self.patient(entry.resource, f"{path}.resource", i, refs)
                if found is not None:
                    plan.patients.append(found)
                else:
                    self.refused |= refs
            elif kind == "Medication":
                medications.update(dict.fromkeys(refs, entry.resource))
        first: dict[str, str] = {}
        for patient in plan.patients:
            earlier = first.setdefault(patient.data.record_number, patient.path)
            if earlier != patient.path:
                self.problem(
                    f"{patient.path}.identifier",
                    f"has the record number of {earlier}: one Patient entry per patient",
                    "business-rule",
                )
        for i, entry in enumerate(entries):
            kind = entry.resource.get_resource_type() if entry.resource is not None else ""
            if kind in IMPORTED[1:]:
                self.clinical(plan, entry.resource, i, medications)
            elif kind == "Medication":
                plan.notes[i] = ["read as the medicine of a MedicationStatement that refers to it"]
            elif kind and kind != "Patient":
                plan.notes[i] = [f"not imported: bontrack imports {', '.join(IMPORTED)}"]
        self.done()
        return plan

    # ---- Patient --------------------------------------------------------------------------------

    def patient(self, resource: Any, path: str, entry: int | None, refs: set[str]) -> PatientPlan | None:
        before = len(self.issues)
        record_number, where = self.record_number(resource, path)
        name = self.name(resource, path)
        born = _full_date(resource.birthDate)
        if resource.birthDate is None:
            self.problem(f"{path}.birthDate", "is required: bontrack records the birth date", "required")
        elif born is None:
            self.problem(
                f"{path}.birthDate", f"needs a full date YYYY-MM-DD (got {resource.birthDate!r})", "value"
            )
        if len(self.issues) > before or record_number is None or name is None or born is None:
            return None
        try:
            data = PatientCreate(
                record_number=record_number, name=name, birth_date=born, sex=resource.gender or "unknown"
            )
        except ValidationError as exc:
            places = {"record_number": where, "name": f"{path}.name", "birth_date": f"{path}.birthDate"}
            for e in field_errors(exc):
                self.problem(places.get(e.field, f"{path}.gender"), e.message, "value")
            return None
        return PatientPlan(path, entry, refs, data)

    def record_number(self, resource: Any, path: str) -> tuple[str | None, str]:
        identifiers = list(enumerate(resource.identifier or []))
        ours = [(k, i) for k, i in identifiers if i.system == RECORD_NUMBER_SYSTEM]
        medical = [
            (k, i)
            for k, i in identifiers
            if i.type is not None and any(c.system == V2_0203 and c.code == "MR" for c in i.type.coding or [])
        ]
        chosen = [(k, i) for k, i in (ours or medical) if i.value and i.value.strip()]
        values = {i.value.strip() for _, i in chosen}
        if not values:
            self.problem(
                f"{path}.identifier",
                "needs the patient's record number: an identifier of type MR "
                f"({V2_0203}) or with system {RECORD_NUMBER_SYSTEM}, with a value",
                "required",
            )
            return None, f"{path}.identifier"
        if len(values) > 1:
            self.problem(
                f"{path}.identifier",
                f"names {len(values)} different record numbers; give one (type MR or {RECORD_NUMBER_SYSTEM})",
                "business-rule",
            )
            return None, f"{path}.identifier"
        k = chosen[0][0]
        return values.pop(), f"{path}.identifier[{k}].value"

    def name(self, resource: Any, path: str) -> str | None:
        names = [n for n in resource.name or [] if n.use not in ("old", "maiden")]
        names.sort(key=lambda n: {"official": 0, "usual": 1}.get(n.use or "", 2))
        for n in names:
            text = n.text or " ".join([*(n.given or []), n.family or ""])
            if text.strip():
                return " ".join(text.split())
        self.problem(f"{path}.name", "is required: bontrack records the patient's name", "required")
        return None

    # ---- Condition, MedicationStatement, AllergyIntolerance -----------------------------------

    def clinical(self, plan: Plan, resource: Any, i: int, medications: dict[str, Any]) -> None:
        kind = resource.get_resource_type()
        path = f"Bundle.entry[{i}].resource"
        subject = resource.patient if kind == "AllergyIntolerance" else resource.subject
        element = "patient" if kind == "AllergyIntolerance" else "subject"
        reference = subject.reference if subject is not None else None
        owner = next((p for p in plan.patients if reference in p.refs), None)
        if owner is None and reference in self.refused:
            return
        if owner is None:
            self.problem(
                f"{path}.{element}",
                "must refer to a Patient entry of this Bundle (by its fullUrl, or Patient/id)",
                "not-found",
            )
            return
        if kind == "Condition":
            self.condition(plan, owner, resource, i, path)
        elif kind == "MedicationStatement":
            self.medication(plan, owner, resource, i, path, medications)
        else:
            self.allergy(plan, owner, resource, i, path)

    def condition(self, plan: Plan, owner: PatientPlan, resource: Any, i: int, path: str) -> None:
        clinical, verified = _status(resource.clinicalStatus), _status(resource.verificationStatus)
        if clinical in _NOT_CURRENT_CONDITION or verified in _NOT_TRUE:
            plan.notes[i] = [
                f"not imported: the condition is {verified if verified in _NOT_TRUE else clinical}"
            ]
            return
        if resource.code is None:
            self.problem(f"{path}.code", "is required: what the condition is", "required")
            return
        names = _names(resource.code)
        kb = self.kb
        item = _screening_item(names, kb.files.conditions, kb.condition)
        if item is not None:
            owner.conditions.append((item, i))
            plan.notes[i] = [f"recorded in the screening: {kb.files.conditions[item].label}"]
            return
        codings = [(k, c) for k, c in enumerate(resource.code.coding or []) if c.system == ICD10CM and c.code]
        ours = [(k, c) for k, c in codings if _icd10cm(c.code).startswith(EPISODE_CODES)]
        if not ours:
            if not names and not codings:
                self.problem(
                    f"{path}.code",
                    "needs a text or a coding with a display (the condition's name), so that bontrack "
                    "can tell whether screening asks about it",
                    "required",
                )
            else:
                plan.notes[i] = [
                    "not imported: bontrack records the neck and shoulder pain episode (ICD-10-CM "
                    f"{', '.join(EPISODE_CODES)}...) and the conditions screening asks about"
                ]
            return
        onset = resource.onsetDateTime or (resource.onsetPeriod.start if resource.onsetPeriod else None)
        day = _full_date(onset)
        if day is None:
            message = (
                f"needs a full date YYYY-MM-DD (got {onset!r})"
                if onset is not None
                else "is required for the pain episode: when the pain began (onsetDateTime)"
            )
            self.problem(f"{path}.onset", message, "required" if onset is None else "value")
            return
        for k, coding in ours:
            try:
                code = DiagnosisCode(code=_icd10cm(coding.code), label=(coding.display or "")[:200])
            except ValidationError as exc:
                for e in field_errors(exc):
                    self.problem(f"{path}.code.coding[{k}].code", e.message, "value")
                continue
            owner.diagnoses.append(Diagnosis(code.code, code.label, day, i))

    def medication(
        self, plan: Plan, owner: PatientPlan, resource: Any, i: int, path: str, medications: dict[str, Any]
    ) -> None:
        if resource.status in _NOT_TAKEN:
            plan.notes[i] = [f"not imported: the statement's status is {resource.status}"]
            return
        concept, where = resource.medicationCodeableConcept, f"{path}.medicationCodeableConcept"
        if concept is None and resource.medicationReference is not None:
            where = f"{path}.medicationReference"
            found = medications.get(resource.medicationReference.reference or "")
            if found is None:
                self.problem(where, "must refer to a Medication entry of this Bundle", "not-found")
                return
            concept = found.code
        rxnorm = (
            [c.display for c in (concept.coding or []) if c.system == RXNORM and c.display] if concept else []
        )
        names = [concept.text] if concept is not None and concept.text else []
        names += rxnorm + _names(concept)
        name = next((" ".join(n.split()) for n in names if n and n.strip()), None)
        if name is None:
            self.problem(
                where,
                "needs a text or a coding with a display (the medicine's name): screening reads "
                "medicines by name",
                "required",
            )
            return
        owner.medications.append((name[:2000], i))
        plan.notes[i] = [f"recorded in the screening: {name[:200]}"]

    def allergy(self, plan: Plan, owner: PatientPlan, resource: Any, i: int, path: str) -> None:
        clinical, verified = _status(resource.clinicalStatus), _status(resource.verificationStatus)
        if clinical in _NOT_CURRENT_CONDITION or verified in _NOT_TRUE:
            plan.notes[i] = [
                f"not imported: the allergy is {verified if verified in _NOT_TRUE else clinical}"
            ]
            return
        names = _names(resource.code)
        if not names:
            self.problem(
                f"{path}.code",
                "needs a text or a coding with a display (what the patient is allergic to)",
                "required",
            )
            return
        kb = self.kb
        item = _screening_item(names, kb.files.allergies, kb.allergy)
        if item is None:
            asked = ", ".join(a.label for a in kb.files.allergies.values())
            plan.notes[i] = [f"not recorded: screening asks only about {asked}"]
            return
        owner.allergies.append((item, i))
        plan.notes[i] = [f"recorded in the screening: {kb.files.allergies[item].label}"]
