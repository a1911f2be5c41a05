"""How the import reads an EHR's resources (pure: no database): what becomes the episode, the
screening's lists, and what is left out, and the FHIRPath each refusal names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bontrack.fhir.import_outcome import FhirImportError
from bontrack.fhir.importing import parse, plan_import

BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "ehr_patient_bundle.json"
TODAY = dt.date(2026, 3, 2)
PATIENT = "urn:uuid:3a9e5c1f-8b2d-4e6a-9c0f-1d7b2e4a6c88"


def with_entries(*resources: dict[str, Any]) -> dict[str, Any]:
    """The fixture's Patient and the given resources (each referring to it)."""
    doc: dict[str, Any] = json.loads(BUNDLE.read_text())
    doc["entry"] = doc["entry"][:1] + [
        {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        for i, r in enumerate(resources, start=1)
    ]
    return doc


def concept(display: str, system: str = "http://snomed.info/sct", code: str = "1") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def test_screening_conditions_and_allergies__matched_by_name_as_the_ehr_writes_it() -> None:
    doc = with_entries(
        {
            "resourceType": "Condition",
            "subject": {"reference": PATIENT},
            "code": concept("Myasthenia gravis (disorder)"),
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/3a9e5c1f-8b2d-4e6a-9c0f-1d7b2e4a6c88"},
            "code": {"text": "History of difficulty swallowing"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": PATIENT},
            "code": {"text": "Allergy to Botox"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": PATIENT},
            "code": concept("Albumin (substance)"),
        },
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": PATIENT},
            "code": concept("Latex (substance)"),
        },
    )
    plan = plan_import(parse(doc), TODAY)
    [patient] = plan.patients
    assert [c for c, _ in patient.conditions] == ["myasthenia_gravis", "dysphagia"]
    assert [a for a, _ in patient.allergies] == ["botulinum_toxin", "human_albumin"]
    assert plan.notes[5][0].startswith("not recorded: screening asks only about")
    assert plan.screening_date == dt.date(2026, 2, 27)  # the Bundle's timestamp


def test_allergies__read_by_the_one_rule_of_every_face() -> None:
    """The EHR's wording, as ``bontrack check`` reads it (knowledge.screening_names): the label's
    "Human serum albumin", the openFDA ingredient name, a reaction after the product's name."""
    written = ["Human serum albumin", "ALBUMIN HUMAN", "Botox (hives)", "Cow's milk protein allergy"]
    doc = with_entries(
        *(
            {"resourceType": "AllergyIntolerance", "patient": {"reference": PATIENT}, "code": {"text": text}}
            for text in written
        ),
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": PATIENT},
            "code": concept("Penicillin"),
        },
    )
    plan = plan_import(parse(doc), TODAY)
    [patient] = plan.patients
    assert [a for a, _ in patient.allergies] == [
        "human_albumin",
        "human_albumin",
        "botulinum_toxin",
        "cows_milk_protein",
    ]
    assert plan.notes[1] == ["recorded in the screening: Allergy to human albumin"]
    assert plan.notes[5][0].startswith("not recorded: screening asks only about")


def test_allergies__a_phrase_that_is_not_the_allergen_is_not_recorded_and_the_note_says_why() -> None:
    """Before: "Milk thistle" and "Egg albumin" were recorded as cow's milk protein and human
    albumin allergies (screening.toml not_when); "Milk thistle; cow's milk" still is."""
    written = ["Milk thistle", "Egg albumin", "Milk thistle; cow's milk"]
    doc = with_entries(
        *(
            {"resourceType": "AllergyIntolerance", "patient": {"reference": PATIENT}, "code": {"text": text}}
            for text in written
        )
    )
    plan = plan_import(parse(doc), TODAY)
    [patient] = plan.patients
    assert [a for a, _ in patient.allergies] == ["cows_milk_protein"]
    assert plan.notes[1][0].startswith("not recorded: screening asks only about")
    assert plan.notes[1][0].endswith(
        "(milk thistle: a plant (Silybum marianum) taken as a herbal medicine; no milk protein)"
    )
    assert plan.notes[2][0].endswith(
        "(egg albumin: ovalbumin, the protein of egg white; an egg allergy, not human albumin)"
    )
    assert plan.notes[3] == ["recorded in the screening: Cow's milk protein allergy"]


def test_medications__by_reference_and_by_status() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": concept("warfarin sodium 5 MG Oral Tablet"),
    }
    doc = with_entries(
        medication,
        {
            "resourceType": "MedicationStatement",
            "status": "on-hold",
            "subject": {"reference": PATIENT},
            "medicationReference": {"reference": "Medication/m1"},
        },
        {
            "resourceType": "MedicationStatement",
            "status": "completed",
            "subject": {"reference": PATIENT},
            "medicationCodeableConcept": {"text": "clopidogrel 75 mg"},
        },
    )
    plan = plan_import(parse(doc), TODAY)
    assert [m for m, _ in plan.patients[0].medications] == ["warfarin sodium 5 MG Oral Tablet"]
    assert plan.notes[3] == ["not imported: the statement's status is completed"]


def test_episode__codes_without_a_dot_and_the_earliest_onset() -> None:
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    doc = with_entries(
        {
            "resourceType": "Condition",
            "subject": {"reference": PATIENT},
            "code": concept("Cervicalgia", icd, "M542"),
            "onsetDateTime": "2025-03-01",
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": PATIENT},
            "code": concept("Knee pain", icd, "M25.561"),
            "onsetDateTime": "2020-03-01",
        },
    )
    plan = plan_import(parse(doc), TODAY)
    assert [(d.code, d.onset) for d in plan.patients[0].diagnoses] == [("M54.2", dt.date(2025, 3, 1))]
    assert plan.notes[2][0].startswith("not imported: bontrack records the neck and shoulder pain episode")


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (lambda p: p.update(birthDate="1971"), "Bundle.entry[0].resource.birthDate"),
        (lambda p: p.update(name=[]), "Bundle.entry[0].resource.name"),
        (lambda p: p.update(gender="woman"), "Bundle.entry[0].resource.gender"),
        (
            lambda p: p["identifier"].append({"type": p["identifier"][1]["type"], "value": "OTHER-1"}),
            "Bundle.entry[0].resource.identifier",
        ),
    ],
    ids=["partial birth date", "no name", "unknown gender", "two record numbers"],
)
def test_patient__refusals_name_the_element(change: Any, expression: str) -> None:
    doc = with_entries()
    change(doc["entry"][0]["resource"])
    with pytest.raises(FhirImportError) as refused:
        plan_import(parse(doc), TODAY)
    assert expression in [i.expression for i in refused.value.issues]


def test_patient__the_record_number_system_of_bontrack_wins_over_mr() -> None:
    doc = with_entries()
    doc["entry"][0]["resource"]["identifier"].append(
        {"system": "https://bontrack.invalid/fhir/sid/record-number", "value": "P-77"}
    )
    assert plan_import(parse(doc), TODAY).patients[0].data.record_number == "P-77"
