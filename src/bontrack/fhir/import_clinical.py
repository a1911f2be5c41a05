"""The import's plan (what to record per patient) and the reading of the clinical resources an
EHR sends: ``Condition`` (the pain episode's diagnoses, or a condition screening asks about),
``MedicationStatement`` and ``AllergyIntolerance``. Pure: no database. ``bontrack.fhir.importing``
reads the Bundle and its Patients with the planner defined here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bontrack.errors import field_errors
from bontrack.fhir.codes import ICD10CM, RXNORM
from bontrack.fhir.import_outcome import FhirImportError, Issue
from bontrack.knowledge import load_knowledge
from bontrack.knowledge.loader import ScreeningMatch
from bontrack.knowledge.screening_names import allergies_named, allergies_not_named, conditions_named
from bontrack.patients.schemas import DiagnosisCode, PatientCreate

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


def _names(concept: Any) -> list[str]:
    """What a CodeableConcept calls itself: its text and its codings' displays, without SNOMED's
    semantic tag ("Myasthenia gravis (disorder)" -> "Myasthenia gravis")."""
    if concept is None:
        return []
    found = [concept.text or ""] + [c.display or "" for c in concept.coding or []]
    return [re.sub(r"\s*\([a-z ]+\)\s*$", "", n).strip() for n in found if n and n.strip()]


def _screening_items(names: list[str], named: Callable[[str], list[ScreeningMatch]]) -> list[str]:
    """The knowledge base's items the resource's names name, each once, as every face reads a
    screening entry (``knowledge.screening_names``: a known name standing as words inside it,
    "Human serum albumin", "Allergy to Botox", "Myasthenia gravis")."""
    return list(dict.fromkeys(m.item_id for name in names for m in named(name)))


def _status(concept: Any) -> str | None:
    codes = [c.code for c in (concept.coding or [])] if concept is not None else []
    return codes[0] if codes else None


def full_date(value: Any) -> dt.date | None:
    """A date (or the date of a date-time); None for a partial date such as '1980' or '1980-05'."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _icd10cm(code: str) -> str:
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


class Planner:
    """Collects every problem (each naming its element) while a plan is made; ``done`` raises them."""

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
        items = _screening_items(names, lambda name: conditions_named(name, kb))
        if items:
            owner.conditions += [(item, i) for item in items]
            labels = ", ".join(kb.files.conditions[item].label for item in items)
            plan.notes[i] = [f"recorded in the screening: {labels}"]
            return
        codings = [(k, c) for k, c in enumerate(resource.code.coding or []) if c.system == ICD10CM and c.code]
        episode = tuple(kb.files.pathway.episode_diagnoses.codes)
        ours = [(k, c) for k, c in codings if _icd10cm(c.code).startswith(episode)]
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
                    f"{', '.join(episode)}...) and the conditions screening asks about"
                ]
            return
        onset = resource.onsetDateTime or (resource.onsetPeriod.start if resource.onsetPeriod else None)
        day = full_date(onset)
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
        items = _screening_items(names, lambda name: allergies_named(name, kb))
        if not items:
            asked = ", ".join(a.label for a in kb.files.allergies.values())
            said = "; ".join(dict.fromkeys(r for name in names for r in allergies_not_named(name, kb)))
            plan.notes[i] = [f"not recorded: screening asks only about {asked}{f' ({said})' if said else ''}"]
            return
        owner.allergies += [(item, i) for item in items]
        labels = ", ".join(kb.files.allergies[item].label for item in items)
        plan.notes[i] = [f"recorded in the screening: {labels}"]
