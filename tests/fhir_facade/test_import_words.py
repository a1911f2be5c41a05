"""A FHIR document refused as not FHIR R4 (400): each issue names its element by FHIRPath (the
standard's way) and says in plain words what it must be and what was given, as the JSONL import
and the web's forms say it (bontrack.plain_words), not in pydantic's or fhir.resources' wording."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from bontrack.fhir.import_outcome import issues_of


def test_a_resource_that_is_not_fhir_r4_is_said_in_plain_words() -> None:
    document = {
        "resourceType": "Patient",
        "active": "maybe",
        "birthDate": "1971-13-40",
        "multipleBirthInteger": "three",
        "bogus": 1,
    }
    with pytest.raises(ValidationError) as info:
        Patient.model_validate(document)
    said = {str(issue) for issue in issues_of(info.value, "Patient")}
    assert said == {
        "Patient.active: must be yes or no (true or false); 'maybe' was given",
        "Patient.birthDate: must be a date written YYYY, YYYY-MM or YYYY-MM-DD; '1971-13-40' was given",
        "Patient.multipleBirthInteger: must be a whole number; 'three' was given",
        "Patient.bogus: is not an element of this resource in FHIR R4",
    }
    for issue in said:
        assert "Input should" not in issue and "spec regex" not in issue and "(got " not in issue
