"""Patient, Practitioner and Organization."""

from __future__ import annotations

from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, meta, ref
from bontrack.patients.schemas import ClinicianRead, ClinicRead, PatientRead

# PatientCreate.sex -> Patient.gender (http://hl7.org/fhir/administrative-gender)
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}
# ClinicianCreate.role -> words for Practitioner.qualification
ROLE_WORDS = {
    "physician": "Physician",
    "physiotherapist": "Physiotherapist",
    "nurse": "Nurse",
    "other": "Other clinician",
}


def patient(p: PatientRead) -> Resource:
    return {
        "resourceType": "Patient",
        "id": p.id,
        "meta": meta(p),
        "identifier": [
            {"use": "usual", "system": codes.RECORD_NUMBER, "value": p.data.record_number},
        ],
        "active": True,
        "name": [{"text": p.data.name}],
        "gender": GENDER[p.data.sex],
        "birthDate": p.data.birth_date.isoformat(),
        "managingOrganization": ref("Organization", p.clinic_id),
    }


def practitioner(c: ClinicianRead) -> Resource:
    out: Resource = {
        "resourceType": "Practitioner",
        "id": c.id,
        "meta": meta(c),
        "active": True,
        "name": [{"text": c.data.name}],
        "qualification": [{"code": {"text": ROLE_WORDS[c.data.role]}}],
    }
    if c.data.registration:
        out["identifier"] = [{"use": "official", "value": c.data.registration}]
    return out


def organization(c: ClinicRead) -> Resource:
    return {
        "resourceType": "Organization",
        "id": c.id,
        "meta": meta(c),
        "active": True,
        "name": c.data.name,
    }
