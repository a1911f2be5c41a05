"""Code systems and the codes the FHIR facade sends, read from the knowledge base.

System URLs are FHIR's own names for code systems; every clinical code (SNOMED CT, LOINC, NDC,
RxNorm, HL7 route) comes from a knowledge file: muscles.toml, billing.toml,
instruments/definitions/*.toml, terminology.toml. Shared with the import side (fhir/importing.py).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

# --- code systems (FHIR's canonical URLs) ---
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ADVERSE_EVENT_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
ADVERSE_EVENT_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AUDIT_EVENT_TYPE = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_EVENT_ACTION_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # identifier types: MR = medical record number

# --- bontrack's own systems: identifiers and local codes (no standard code exists or is known) ---
LOCAL = "https://bontrack.invalid/fhir"  # .invalid: a name only, never resolved
RECORD_NUMBER = f"{LOCAL}/sid/record-number"  # Patient.identifier.system of the clinic's record number
LOCAL_SCORES = f"{LOCAL}/CodeSystem/score"  # instrument scores without LOINC: "<instrument>-<score>"
LOCAL_PRODUCTS = f"{LOCAL}/CodeSystem/product"  # botulinum toxin products, by knowledge-base id
LOCAL_PROCEDURES = f"{LOCAL}/CodeSystem/procedure"
LOCAL_MUSCLES = f"{LOCAL}/CodeSystem/muscle"
LOCAL_OBSERVATIONS = f"{LOCAL}/CodeSystem/observation"  # e.g. pressure-pain threshold
QUESTIONNAIRE_BASE = f"{LOCAL}/Questionnaire"  # Questionnaire.url: f"{QUESTIONNAIRE_BASE}/{instrument}"
EXTENSION_BASE = f"{LOCAL}/StructureDefinition"


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    code: str
    display: str
    source_title: str = ""
    source_url: str = ""
    note: str = ""


class Terminology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    route: dict[str, Code]
    procedure: dict[str, Code]
    rxnorm: dict[str, Code] = {}


@cache
def terminology() -> Terminology:
    """knowledge/terminology.toml, validated (cached per process)."""
    text = (resources.files("bontrack.knowledge") / "terminology.toml").read_text(encoding="utf-8")
    return Terminology.model_validate(tomllib.loads(text))


def coding(code: Code) -> list[dict[str, str]]:
    """The Coding list of a knowledge-base code: empty when no code was confirmed."""
    return [{"system": code.system, "code": code.code, "display": code.display}] if code.code else []
