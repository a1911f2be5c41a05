"""Who may import what: the same roles as /api, per record the import would write.

An import writes records of three kinds (the registry's, with their ``write_roles``): the patient
(each Patient entry), the pain episode (each Condition read as one of its diagnoses) and the
screening (each MedicationStatement, AllergyIntolerance, and Condition screening asks about). A
user may import a Bundle only if their role may write every kind its entries would write: a
physical therapist may send patients and their pain episode, staff patients and their screening's
medicines, allergies and conditions, a physician all three. Otherwise the whole Bundle is refused
(403, an OperationOutcome naming each entry the role may not write), before anything is read or
written, and the denial is audited. The decision is made on the Bundle alone: an entry that would
leave its record unchanged counts as a write too, so the same Bundle gets the same answer whatever
the registry holds.
"""

from __future__ import annotations

from bontrack.auth.schemas import Role
from bontrack.fhir.import_clinical import Plan
from bontrack.fhir.import_outcome import FhirImportError, Issue
from bontrack.patients.kind import EPISODE, PATIENT
from bontrack.record_kind import AnyKind
from bontrack.screening.kind import SCREENING
from bontrack.storage.audit_log import Attempt, mark_denied

# the kinds an import writes, in the order it writes them for each patient
WRITES: tuple[AnyKind, ...] = (PATIENT, EPISODE, SCREENING)


def written(plan: Plan) -> list[tuple[str, AnyKind]]:
    """Each entry (as FHIRPath) that would write a record, with the record's kind, once each."""
    found: list[tuple[str, AnyKind]] = []
    for p in plan.patients:
        found.append((p.path if p.entry is None else f"Bundle.entry[{p.entry}]", PATIENT))
        found += [(f"Bundle.entry[{d.entry}]", EPISODE) for d in p.diagnoses if d.entry is not None]
        found += [(f"Bundle.entry[{i}]", SCREENING) for _, i in [*p.medications, *p.allergies, *p.conditions]]
    return list(dict.fromkeys(found))


def _words(role: str) -> str:
    return role.replace("_", " ")


def check_roles(plan: Plan, role: Role, actor: str, clinic_id: str | None) -> None:
    """Refuse (403, audited as denied) a plan that would write a kind ``role`` may not write."""
    refused = [(where, kind) for where, kind in written(plan) if role not in kind.write_roles]
    if not refused:
        return
    issues = [
        Issue(
            where,
            f"a {_words(role)} may not record {kind.words} (roles that may: "
            f"{', '.join(_words(r) for r in kind.write_roles)}); leave this entry out, or have one of "
            "them import the Bundle. Nothing was imported.",
            "forbidden",
        )
        for where, kind in refused
    ]
    kinds = ", ".join(dict.fromkeys(kind.label for _, kind in refused))
    attempt = Attempt(
        actor,
        action="create",
        record_type=refused[0][1].name,
        clinic_id=clinic_id,
        detail=f"FHIR import refused: role {role} may not write {kinds}",
    )
    raise mark_denied(FhirImportError(403, issues), attempt)
