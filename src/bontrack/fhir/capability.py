"""The CapabilityStatement at /fhir/metadata: exactly the types, interactions, search parameters,
_include values and operations this facade serves (built from the tables search.py enforces)."""

from __future__ import annotations

from typing import Any

from bontrack import __version__
from bontrack.fhir.mapping import Resource, validate
from bontrack.fhir.search_params import INCLUDES, PARAMETERS
from bontrack.fhir.sources import ALL_TYPES, PATIENT_TYPES

FHIR_VERSION = "4.0.1"
PARAM_TYPES = {
    "_id": "token",
    "_lastUpdated": "date",
    "identifier": "token",
    "name": "string",
    "birthdate": "date",
    "gender": "token",
    "patient": "reference",
    "subject": "reference",
    "code": "token",
    "date": "date",
    "url": "uri",
}
BULK_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
# What other modules of the facade add (the import routes: create and transaction), by type;
# ``extend`` is how they declare it, so the statement stays exact.
EXTRA_INTERACTIONS: dict[str, list[str]] = {}
SYSTEM_INTERACTIONS: list[str] = []


def extend(resource_type: str | None, interaction: str) -> None:
    """Declare one more interaction (a type's ``create``, or the system's ``transaction``)."""
    target = (
        SYSTEM_INTERACTIONS if resource_type is None else EXTRA_INTERACTIONS.setdefault(resource_type, [])
    )
    if interaction not in target:
        target.append(interaction)


def _resource(t: str) -> Resource:
    params = ["_id", "_lastUpdated", *PARAMETERS[t]] if t != "AuditEvent" else []
    out: dict[str, Any] = {
        "type": t,
        "interaction": [{"code": c} for c in ("read", "search-type", *EXTRA_INTERACTIONS.get(t, []))],
        "searchParam": [{"name": p, "type": PARAM_TYPES[p]} for p in dict.fromkeys(params)],
    }
    includes = [f"{s}:{p}" for s, p in INCLUDES if s == t]
    if includes:
        out["searchInclude"] = includes
    if t == "Patient":
        out["operation"] = [
            {"name": "everything", "definition": EVERYTHING},
            {"name": "export", "definition": PATIENT_EXPORT},
        ]
    if t == "AuditEvent":
        out["documentation"] = "Administrators only; never to researchers (it cannot be de-identified)."
    return out


def capability_statement(base_url: str, date: str) -> Resource:
    statement: Resource = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "bontrack",
        "kind": "instance",
        "software": {"name": "bontrack", "version": __version__},
        "implementation": {"description": "bontrack FHIR R4 facade", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read and search of the pain pathway (episodes, injection sessions, "
                "scores, adverse events, physical therapy). Patient compartment types: "
                + ", ".join(PATIENT_TYPES)
                + ". Paging: _count (0-500, default 50) and _offset; the Bundle's links page on. "
                "_summary=count gives only the total (always exact, whatever _total asks).",
                "security": {
                    "description": "The bearer tokens of the bontrack API (POST /api/auth/token) and "
                    "its roles. Researchers get de-identified resources only (no names, identifiers, "
                    "free text or dates finer than the year; ids are pseudonyms); AuditEvent is for "
                    "administrators."
                },
                "resource": [_resource(t) for t in ALL_TYPES],
                "interaction": [{"code": c} for c in SYSTEM_INTERACTIONS],
                "operation": [{"name": "export", "definition": BULK_EXPORT}],
            }
        ],
    }
    if not SYSTEM_INTERACTIONS:
        del statement["rest"][0]["interaction"]
    return validate(statement)
