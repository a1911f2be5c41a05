"""Reading what an EHR sends: a FHIR R4 transaction Bundle (or one Patient), validated with
fhir.resources' models, turned into a plan of what to record. Pure: no database; the writes are
in ``bontrack.fhir.import_writes``.

What is taken, per patient (each clinical resource must refer to a Patient entry of the Bundle):

- ``Patient``: the record number (an identifier with bontrack's own system, else the one of type
  MR, the EHR's medical record number), name, birth date, sex;
- ``Condition`` coded with ICD-10-CM in the neck and shoulder pain codes (the knowledge base's
  ``pathway.episode_diagnoses``): a
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
from typing import Any

from pydantic import ValidationError

from bontrack.errors import field_errors
from bontrack.fhir.codes import RECORD_NUMBER, V2_0203
from bontrack.fhir.import_clinical import IMPORTED, PatientPlan, Plan, Planner, full_date
from bontrack.fhir.import_outcome import FhirImportError, Issue, issues_of
from bontrack.patients.schemas import PatientCreate

__all__ = ["PatientPlan", "Plan", "parse", "plan_import", "read_document"]


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


class _Planner(Planner):
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
        stamp = full_date(bundle.timestamp)
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
        born = full_date(resource.birthDate)
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
        ours = [(k, i) for k, i in identifiers if i.system == RECORD_NUMBER]
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
                f"({V2_0203}) or with system {RECORD_NUMBER}, with a value",
                "required",
            )
            return None, f"{path}.identifier"
        if len(values) > 1:
            self.problem(
                f"{path}.identifier",
                f"names {len(values)} different record numbers; give one (type MR or {RECORD_NUMBER})",
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
