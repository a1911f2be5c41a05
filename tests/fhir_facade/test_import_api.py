"""Import from the EHR through the API: POST /fhir (transaction Bundle) and POST /fhir/Patient,
on the real app and database (the main path on SQLite and PostgreSQL), no mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import Engine, func, select

from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.injections.models import InjectionSessionRow
from bontrack.patients import service as patients
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.patients.schemas import ClinicCreate, PatientCreate
from bontrack.screening.models import ScreeningRow
from bontrack.storage.engine import transaction
from factories import DAY, session_input
from web.conftest import START, Site, make_site, password, populate
from web.conftest import cheap_password_hashing as cheap_password_hashing  # autouse here too
from web.conftest import site as site
from web.conftest import sqlite_engine as sqlite_engine
from web.conftest import template_db as template_db

BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "ehr_patient_bundle.json"
FHIR = {"Content-Type": "application/fhir+json"}
RECORD_NUMBER = "EHR-40417"


def bundle() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(BUNDLE.read_text())
    return doc


def post(site: Site, doc: Any, role: str = "physician", path: str = "/fhir", **params: str) -> Any:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return site.client.post(path, content=body, headers=FHIR | site.bearer(role), params=params)


def versions(engine: Engine) -> dict[str, int]:
    """How many versions of each record type the registry holds (a write adds one)."""
    with transaction(engine) as db:
        return {
            row.__tablename__: int(db.scalar(select(func.count()).select_from(row)) or 0)
            for row in (PatientRow, EpisodeRow, ScreeningRow, InjectionSessionRow)
        }


def imported_patient(site: Site, role: str = "physician") -> dict[str, Any]:
    found = site.client.get("/api/patients?limit=500", headers=site.bearer(role)).json()["items"]
    [patient] = [p for p in found if p["data"]["record_number"] == RECORD_NUMBER]
    return patient


def test_bundle__creates_the_patient_with_screening_and_the_engine_sees_the_anticoagulant(
    engine: Engine,
) -> None:
    site = make_site(engine, populate(engine))
    response = post(site, bundle())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    answer = Bundle.model_validate(response.json())  # a valid R4 transaction-response
    assert answer.type == "transaction-response" and len(answer.entry) == len(bundle()["entry"])
    statuses = [e.response.status for e in answer.entry]
    assert statuses[0] == "201 Created" and answer.entry[0].response.location.startswith("Patient/")
    assert statuses[2] == statuses[3] == "201 Created"  # the two pain conditions: one new episode
    assert answer.entry[2].response.location == answer.entry[3].response.location
    assert statuses[6] == "201 Created"  # apixaban: into a new screening

    patient = imported_patient(site, "staff")
    assert patient["data"] | {"phone": "", "email": ""} == {
        "phone": "",
        "email": "",
        "record_number": RECORD_NUMBER,
        "name": "Rosalind Adaeze Okafor (synthetic)",
        "birth_date": "1971-08-14",
        "sex": "female",
    }
    chart = site.client.get(f"/api/patients/{patient['id']}/chart", headers=site.bearer("staff")).json()
    [episode] = chart["episodes"]
    assert [c["code"] for c in episode["data"]["diagnosis_codes"]] == ["M54.2", "M79.12"]
    assert episode["data"]["pain_onset_date"] == "2025-06-10"
    [screening] = chart["screenings"]
    assert screening["data"]["date"] == "2026-02-27"  # the Bundle's timestamp
    assert screening["data"]["medications"] == ["apixaban 5 MG Oral Tablet", "lisinopril 10 MG Oral Tablet"]
    assert screening["data"]["allergies"] == ["cows_milk_protein"]  # penicillin is not asked about
    assert screening["data"]["pregnant"] is None  # the EHR's lists are not an interview

    # the engine's next decision for this patient, in the stored context
    plan = session_input(site.world).model_dump(mode="json", exclude_none=True)
    plan |= {"patient_id": patient["id"], "episode_id": episode["id"], "date": DAY.isoformat()}
    checked = site.client.post("/api/sessions/check", json=plan, headers=site.bearer("physician"))
    assert checked.status_code == 200, checked.text
    findings = {f["code"]: f for f in checked.json()["decision"]["findings"]}
    assert "medication.anticoagulants" in findings
    message = findings["medication.anticoagulants"]["message"]
    assert "apixaban" in message and "warfarin" not in message  # warfarin was stopped: not imported
    dysport = plan | {"product": "abobotulinumtoxinA", "vial_units": 500, "diluent_ml": 2.5}
    dysport["sites"] = [{"muscle": "upper_trapezius", "side": "left", "units": 100}]
    judged = site.client.post("/api/sessions/check", json=dysport, headers=site.bearer("physician"))
    assert judged.status_code == 200, judged.text
    assert judged.json()["decision"]["decision"] == "block"
    assert "allergy.cows_milk_protein" in {f["code"] for f in judged.json()["decision"]["findings"]}


def test_bundle__imported_twice_changes_nothing_the_second_time(site: Site) -> None:
    assert post(site, bundle()).status_code == 200
    before = versions(site.engine)
    again = post(site, bundle())
    assert again.status_code == 200, again.text
    assert versions(site.engine) == before
    entries = again.json()["entry"]
    assert {e["response"]["status"] for e in entries} == {"200 OK"}
    notes = [i["diagnostics"] for i in entries[0]["response"]["outcome"]["issue"]]
    assert notes == [f"patient {RECORD_NUMBER}: unchanged"]


def test_bundle__a_changed_bundle_corrects_and_keeps_the_earlier_versions(site: Site) -> None:
    assert post(site, bundle()).status_code == 200
    changed = bundle()
    changed["entry"][0]["resource"]["name"][0]["family"] = "Okafor-Reyes (synthetic)"
    changed["entry"][3]["resource"]["code"]["coding"].append(
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M25.512", "display": "Pain in left shoulder"}
    )
    changed["entry"][8]["resource"]["medicationCodeableConcept"]["coding"][0]["display"] = "Eliquis 5 mg"
    response = post(site, changed)
    assert response.status_code == 200, response.text
    patient = imported_patient(site)
    staff = site.bearer("staff")
    history = site.client.get(f"/api/patients/{patient['id']}/history", headers=staff).json()
    assert [v["data"]["name"] for v in history] == [
        "Rosalind Adaeze Okafor (synthetic)",
        "Rosalind Adaeze Okafor-Reyes (synthetic)",
    ]
    chart = site.client.get(f"/api/patients/{patient['id']}/chart", headers=staff).json()
    [episode] = chart["episodes"]
    assert episode["version"] == 2
    assert [c["code"] for c in episode["data"]["diagnosis_codes"]] == ["M54.2", "M79.12", "M25.512"]
    [screening] = chart["screenings"]  # the same day's screening, corrected: one current screening
    assert screening["version"] == 2 and "Eliquis 5 mg" in screening["data"]["medications"]


def test_bundle__a_correction_keeps_the_phone_and_email_the_clinic_recorded(site: Site) -> None:
    assert post(site, bundle()).status_code == 200
    patient = imported_patient(site)
    with transaction(site.engine) as db:
        data = PatientCreate.model_validate(patient["data"] | {"phone": "555 0100", "email": "r@example.org"})
        patients.update_patient(
            db=db, actor="test:setup", patient_id=patient["id"], data=data, reason="Reached by phone"
        )
    again = post(site, bundle())  # the EHR sends no phone or email: nothing to correct
    assert again.json()["entry"][0]["response"]["status"] == "200 OK"
    assert imported_patient(site)["version"] == 2
    changed = bundle()
    changed["entry"][0]["resource"]["name"][0]["family"] = "Okafor-Reyes (synthetic)"
    assert post(site, changed).status_code == 200
    now = imported_patient(site)
    assert now["version"] == 3 and now["data"]["name"] == "Rosalind Adaeze Okafor-Reyes (synthetic)"
    assert (now["data"]["phone"], now["data"]["email"]) == ("555 0100", "r@example.org")


def test_bundle__carries_over_what_the_clinic_recorded_and_not_its_answers(site: Site) -> None:
    """The world's patient P-001 was screened by the clinic 7 days before, with ibuprofen."""
    staff = site.bearer("staff")
    screenings = site.client.get(f"/api/patients/{site.world.patient_id}/chart", headers=staff).json()
    [clinic_screening] = screenings["screenings"]
    correcting = {
        "data": clinic_screening["data"] | {"medications": ["ibuprofen 400 mg"]},
        "reason": "medicines asked",
    }
    fixed = site.client.put(f"/api/screenings/{clinic_screening['id']}", json=correcting, headers=staff)
    assert fixed.status_code == 200, fixed.text
    doc = bundle()
    doc["timestamp"] = "2026-03-02T08:00:00Z"
    resource = doc["entry"][0]["resource"]
    resource["identifier"][1]["value"] = "P-001"
    resource["name"] = [{"text": "Test Patient"}]
    resource["birthDate"] = "1978-05-04"
    doc["entry"] = [e for i, e in enumerate(doc["entry"]) if i in (0, 6)]  # the patient and apixaban
    response = post(site, doc)
    assert response.status_code == 200, response.text
    assert response.json()["entry"][0]["response"]["status"] == "200 OK"  # matched by record number
    chart = site.client.get(f"/api/patients/{site.world.patient_id}/chart", headers=staff).json()
    latest = chart["screenings"][-1]["data"]
    assert latest["date"] == "2026-03-02"
    assert latest["medications"] == ["ibuprofen 400 mg", "apixaban 5 MG Oral Tablet"]
    assert latest["pregnant"] is None
    assert chart["screenings"][0]["data"]["pregnant"] is False  # the clinic's own screening stays


def test_patient__created_then_matched_by_record_number(site: Site) -> None:
    patient = bundle()["entry"][0]["resource"]
    created = post(site, patient, path="/fhir/Patient")
    assert created.status_code == 201, created.text
    assert created.headers["location"].startswith("Patient/")
    body = created.json()
    assert body["resourceType"] == "Patient" and body["meta"]["versionId"] == "1"
    again = post(site, patient, path="/fhir/Patient")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert again.json()["meta"]["versionId"] == "1"
    wrong = post(site, bundle(), path="/fhir/Patient")
    assert wrong.status_code == 400
    assert wrong.json()["issue"][0]["expression"] == ["resourceType"]


def test_patient__matched_by_record_number_whatever_its_case(site: Site) -> None:
    patient = bundle()["entry"][0]["resource"]
    created = post(site, patient, path="/fhir/Patient")
    assert created.status_code == 201, created.text
    lower = json.loads(json.dumps(patient).replace(RECORD_NUMBER, RECORD_NUMBER.lower()))
    again = post(site, lower, path="/fhir/Patient")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == created.json()["id"]  # the same patient, not a second one
    found = site.client.get("/api/patients?limit=500", headers=site.bearer("physician")).json()
    assert found["total"] == 2  # the world's patient and this one


def _outcome(response: Any) -> list[str]:
    body = response.json()
    OperationOutcome.model_validate(body)
    return [e for issue in body["issue"] for e in issue.get("expression", [])]


def _edit(change: Any) -> dict[str, Any]:
    doc = bundle()
    change(doc)
    return doc


def _set(doc: dict[str, Any], path: list[Any], value: Any) -> None:
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value


R = ["entry"]
BAD: list[tuple[str, Any, int, str]] = [
    ("condition without code", [*R, 2, "resource", "code"], 422, "Bundle.entry[2].resource.code"),
    ("impossible birth date", [*R, 0, "resource", "birthDate"], 400, "Bundle.entry[0].resource.birthDate"),
    ("no record number", [*R, 0, "resource", "identifier"], 422, "Bundle.entry[0].resource.identifier"),
    ("no onset", [*R, 2, "resource", "onsetDateTime"], 422, "Bundle.entry[2].resource.onset"),
    ("onset before birth", [*R, 2, "resource", "onsetDateTime"], 422, "Bundle.entry[2].resource.onset"),
    (
        "bad ICD-10-CM code",
        [*R, 2, "resource", "code", "coding", 0, "code"],
        422,
        "Bundle.entry[2].resource.code.coding[0].code",
    ),
    ("unknown subject", [*R, 6, "resource", "subject", "reference"], 422, "Bundle.entry[6].resource.subject"),
    (
        "medicine without a name",
        [*R, 6, "resource", "medicationCodeableConcept"],
        422,
        "Bundle.entry[6].resource.medicationCodeableConcept",
    ),
    ("element not in R4", [*R, 9, "resource", "bogus"], 400, "Bundle.entry[9].resource.bogus"),
    ("batch, not transaction", ["type"], 422, "Bundle.type"),
    ("screening dated in the future", ["timestamp"], 422, "Bundle.timestamp"),
    ("delete", [*R, 1, "request", "method"], 422, "Bundle.entry[1].request.method"),
    (
        "unknown resource type",
        [*R, 1, "resource", "resourceType"],
        400,
        "Bundle.entry[1].resource.resourceType",
    ),
]
VALUES = {
    "impossible birth date": "1971-13-40",
    "onset before birth": "1960-01-01",
    "bad ICD-10-CM code": "M54.2!",
    "unknown subject": "urn:uuid:00000000-0000-4000-8000-000000000000",
    "medicine without a name": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1364445"}]
    },
    "element not in R4": True,
    "batch, not transaction": "batch",
    "screening dated in the future": "2099-01-01T00:00:00Z",
    "delete": "DELETE",
    "unknown resource type": "Observationz",
}


@pytest.mark.parametrize(("case", "path", "status", "expression"), BAD, ids=[b[0] for b in BAD])
def test_bad_bundle__names_the_element_and_writes_nothing(
    site: Site, case: str, path: list[Any], status: int, expression: str
) -> None:
    before = versions(site.engine)
    response = post(site, _edit(lambda doc: _set(doc, path, VALUES.get(case))))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert expression in _outcome(response)
    assert versions(site.engine) == before  # one transaction: the patient is not kept either


def test_bad_body__not_json_or_not_a_resource(site: Site) -> None:
    assert post(site, b"{not json").status_code == 400
    assert post(site, [1, 2]).status_code == 400
    observation = post(site, {"resourceType": "Observation"})
    assert observation.status_code == 400 and _outcome(observation) == ["resourceType"]


def _denied(site: Site, role: str) -> list[dict[str, Any]]:
    audit = site.client.get("/api/audit?limit=50", headers=site.bearer("admin")).json()["items"]
    return [e for e in audit if e["outcome"] == "denied" and e["actor"] == f"user:{role}@clinic.example.org"]


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_roles__who_may_not_register_patients_may_not_import(site: Site, role: str) -> None:
    before = versions(site.engine)
    response = post(site, bundle(), role=role)
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "forbidden"
    assert versions(site.engine) == before
    assert _denied(site, role)


# the entries of the fixture that write the pain episode (its two ICD-10-CM Conditions) and the
# screening (apixaban, lisinopril, cow's milk protein); the others are patient, or not recorded
EPISODE_ENTRIES = ["Bundle.entry[2]", "Bundle.entry[3]"]
SCREENING_ENTRIES = ["Bundle.entry[6]", "Bundle.entry[8]", "Bundle.entry[9]"]


@pytest.mark.parametrize(
    ("role", "refused"),
    [("physician", []), ("physical_therapist", SCREENING_ENTRIES), ("staff", EPISODE_ENTRIES)],
)
def test_roles__a_bundle_with_a_record_the_role_may_not_write_is_refused_naming_its_entries(
    site: Site, role: str, refused: list[str]
) -> None:
    """As on /api: physical therapists open pain episodes but record no screening, staff record
    screenings but open no episode; the whole Bundle is refused, nothing written, the denial audited."""
    before = versions(site.engine)
    response = post(site, bundle(), role=role)
    if not refused:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 403, response.text
    outcome = OperationOutcome.model_validate(response.json())
    assert _outcome(response) == refused
    assert {i.code for i in outcome.issue} == {"forbidden"}
    said = outcome.issue[0].diagnostics or ""
    assert role.replace("_", " ") in said and "Nothing was imported" in said
    assert versions(site.engine) == before
    assert any("FHIR import refused" in (e["detail"] or "") for e in _denied(site, role))


def _without(doc: dict[str, Any], entries: list[str]) -> dict[str, Any]:
    gone = {int(e.split("[")[1].rstrip("]")) for e in entries}
    doc["entry"] = [e for i, e in enumerate(doc["entry"]) if i not in gone]
    return doc


@pytest.mark.parametrize(
    ("role", "left_out"), [("physical_therapist", SCREENING_ENTRIES), ("staff", EPISODE_ENTRIES)]
)
def test_roles__a_user_imports_the_parts_their_role_may_write(
    site: Site, role: str, left_out: list[str]
) -> None:
    response = post(site, _without(bundle(), left_out), role=role)
    assert response.status_code == 200, response.text
    chart = site.client.get(
        f"/api/patients/{imported_patient(site, role)['id']}/chart", headers=site.bearer(role)
    ).json()
    assert len(chart["episodes"]) == (0 if left_out == EPISODE_ENTRIES else 1)
    assert len(chart["screenings"]) == (0 if left_out == SCREENING_ENTRIES else 1)


@pytest.mark.parametrize("role", ["physical_therapist", "staff"])
def test_roles__every_role_that_registers_patients_may_post_a_patient(site: Site, role: str) -> None:
    patient = bundle()["entry"][0]["resource"]
    response = post(site, patient, role=role, path="/fhir/Patient")
    assert response.status_code == 201, response.text


def test_auth__no_token_is_401_as_operation_outcome(site: Site) -> None:
    response = site.client.post("/fhir", content=json.dumps(bundle()), headers=FHIR)
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"


def _second_clinic(site: Site) -> tuple[str, dict[str, str]]:
    with transaction(site.engine) as db:
        clinic = patients.create_clinic(db=db, actor="test:setup", data=ClinicCreate(name="Eastside Spine"))
        data = UserCreate(
            email="physician@eastside.example.org",
            role="physician",
            password=password("east"),
            clinic_id=clinic.id,
        )
        create_user(db=db, actor="test:setup", data=data, now=START)
    token = site.client.post(
        "/api/auth/token", data={"username": "physician@eastside.example.org", "password": password("east")}
    ).json()["access_token"]
    return clinic.id, {"Authorization": f"Bearer {token}"}


def test_scoping__another_clinic_imports_its_own_patient_and_sees_nothing_of_ours(site: Site) -> None:
    east_id, east = _second_clinic(site)
    assert post(site, bundle()).status_code == 200
    ours = imported_patient(site)
    doc = json.dumps(bundle()).encode()
    theirs = site.client.post("/fhir", content=doc, headers=FHIR | east)
    assert theirs.status_code == 200, theirs.text
    their_id = theirs.json()["entry"][0]["response"]["location"].split("/")[1]
    assert theirs.json()["entry"][0]["response"]["status"] == "201 Created"  # not matched to ours
    assert their_id != ours["id"]
    assert site.client.get(f"/api/patients/{ours['id']}", headers=east).status_code == 404
    assert site.client.get(f"/api/patients/{their_id}", headers=site.bearer("physician")).status_code == 404
    assert imported_patient(site)["version"] == 1  # theirs did not correct ours
    other = site.client.post(
        "/fhir", content=doc, headers=FHIR | east, params={"clinic_id": site.world.clinic_id}
    )
    assert other.status_code == 403 and other.json()["resourceType"] == "OperationOutcome"
    assert east_id != site.world.clinic_id


def test_capability_statement__lists_the_import_interactions_and_they_are_served(site: Site) -> None:
    statement = site.client.get("/fhir/metadata").json()
    rest = statement["rest"][0]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert "create" in [i["code"] for i in patient["interaction"]]
    assert [i["code"] for i in rest["interaction"]] == ["transaction"]
    others = [r for r in rest["resource"] if r["type"] != "Patient"]
    assert all("create" not in [i["code"] for i in r["interaction"]] for r in others)
    # and what it states is served: a Patient create, and a transaction Bundle at the base
    assert post(site, bundle()["entry"][0]["resource"], path="/fhir/Patient").status_code == 201
    assert post(site, bundle()).status_code == 200
