"""Search (parameters, paging, _lastUpdated, _include), errors as OperationOutcome, and what each
user sees: their own clinic only; researchers de-identified; every read audited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.storage.engine import transaction
from fhir_facade.fhir_support import all_entries, check_resource
from web.conftest import Site


def _outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    check_resource(body)
    assert body["resourceType"] == "OperationOutcome"
    return body


def _get(site: Site, path: str, role: str = "admin") -> Any:
    return site.client.get(path, headers=site.bearer(role))


def test_an_unknown_search_parameter_is_reported_not_ignored(fhir_site: Site) -> None:
    body = _outcome(_get(fhir_site, "/fhir/Patient?nmae=Smith"), 400)
    assert body["issue"][0]["code"] == "not-supported"
    assert body["issue"][0]["expression"] == ["nmae"]
    assert "name" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("_count=-1", "_count"),
        ("_count=100000", "_count"),
        ("_include=Patient:nothing", "_include"),
    ],
)
def test_bad_values_name_the_parameter(fhir_site: Site, query: str, where: str) -> None:
    body = _outcome(_get(fhir_site, f"/fhir/Patient?{query}"), 400)
    assert body["issue"][0]["expression"] == [where]


def test_bad_date_and_unknown_type_and_missing_record(fhir_site: Site) -> None:
    _outcome(_get(fhir_site, "/fhir/Patient?birthdate=yesterday"), 400)
    assert _outcome(_get(fhir_site, "/fhir/Medication"), 404)["issue"][0]["code"] == "not-supported"
    assert _outcome(_get(fhir_site, "/fhir/Patient/not-there"), 404)["issue"][0]["expression"] == ["id"]
    assert _outcome(fhir_site.client.get("/fhir/Patient"), 401)["issue"][0]["code"] == "login"


def test_paging_links_walk_to_the_end(fhir_site: Site) -> None:
    whole = _get(fhir_site, "/fhir/Observation?_count=500").json()
    paged = all_entries(fhir_site, "admin", "/fhir/Observation?_count=7")
    assert [e["resource"]["id"] for e in paged] == [e["resource"]["id"] for e in whole["entry"]]
    assert len(paged) == whole["total"] > 7
    first = _get(fhir_site, "/fhir/Observation?_count=7").json()
    relations = {link["relation"] for link in first["link"]}
    assert {"self", "first", "next", "last"} <= relations and "previous" not in relations
    assert _get(fhir_site, "/fhir/Observation?_count=0").json()["entry"] == []


def test_patient_search_by_identifier_name_and_birthdate(fhir_site: Site) -> None:
    patients = [e["resource"] for e in all_entries(fhir_site, "admin", "/fhir/Patient")]
    one = patients[0]
    number = one["identifier"][0]["value"]
    found = _get(fhir_site, f"/fhir/Patient?identifier={number}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [one["id"]]
    system = one["identifier"][0]["system"]
    assert _get(fhir_site, f"/fhir/Patient?identifier={system}|{number}").json()["total"] == 1
    assert _get(fhir_site, f"/fhir/Patient?identifier=other-system|{number}").json()["total"] == 0
    word = one["name"][0]["text"].split()[-1]
    by_name = _get(fhir_site, f"/fhir/Patient?name={word[:3].lower()}").json()
    assert one["id"] in {e["resource"]["id"] for e in by_name["entry"]}
    born = one["birthDate"]
    same_day = _get(fhir_site, f"/fhir/Patient?birthdate={born}").json()
    assert all(e["resource"]["birthDate"] == born for e in same_day["entry"]) and same_day["total"] >= 1
    later = _get(fhir_site, f"/fhir/Patient?birthdate=gt{born}").json()
    assert all(e["resource"]["birthDate"] > born for e in later["entry"])


def test_last_updated_filters(fhir_site: Site) -> None:
    everything = _get(fhir_site, "/fhir/Procedure?_count=500").json()
    stamps = sorted(e["resource"]["meta"]["lastUpdated"][:10] for e in everything["entry"])
    cut = stamps[len(stamps) // 2]
    newer = _get(fhir_site, f"/fhir/Procedure?_lastUpdated=ge{cut}&_count=500").json()
    assert newer["total"] == sum(1 for s in stamps if s >= cut)
    assert 0 < newer["total"] < everything["total"] or stamps[0] == stamps[-1]


def test_include_brings_the_patients(fhir_site: Site) -> None:
    bundle = _get(fhir_site, "/fhir/Procedure?_include=Procedure:patient&_count=3").json()
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    wanted = {m["resource"]["subject"]["reference"] for m in matches}
    assert {f"Patient/{p['id']}" for p in included} == wanted
    check_resource(bundle)


def test_everything_of_one_patient(fhir_site: Site) -> None:
    procedure = _get(fhir_site, "/fhir/Procedure?_count=1").json()["entry"][0]["resource"]
    pid = procedure["subject"]["reference"].removeprefix("Patient/")
    bundle = _get(fhir_site, f"/fhir/Patient/{pid}/$everything?_count=500").json()
    check_resource(bundle)
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "Condition", "Procedure", "MedicationAdministration", "Observation"} <= types
    assert {"Practitioner", "Organization"} <= types
    subjects = {e["resource"]["subject"]["reference"] for e in bundle["entry"] if "subject" in e["resource"]}
    assert subjects == {f"Patient/{pid}"}


def test_a_physician_of_another_clinic_gets_nothing(fhir_site: Site) -> None:
    synthetic = [
        e["resource"]
        for e in all_entries(fhir_site, "admin", "/fhir/Patient")
        if e["resource"]["managingOrganization"]["reference"] != f"Organization/{fhir_site.world.clinic_id}"
    ]
    assert synthetic
    other = synthetic[0]
    _outcome(_get(fhir_site, f"/fhir/Patient/{other['id']}", "physician"), 404)
    _outcome(_get(fhir_site, f"/fhir/Patient/{other['id']}/$everything", "physician"), 404)
    number = other["identifier"][0]["value"]
    assert _get(fhir_site, f"/fhir/Patient?identifier={number}", "physician").json()["total"] == 0
    assert _get(fhir_site, f"/fhir/Procedure?patient={other['id']}", "physician").json()["total"] == 0
    own = [e["resource"] for e in all_entries(fhir_site, "physician", "/fhir/Patient")]
    assert [p["id"] for p in own] == [fhir_site.world.patient_id]
    assert _outcome(_get(fhir_site, "/fhir/AuditEvent", "physician"), 403)["issue"][0]["code"] == "forbidden"


def test_reads_are_audited(fhir_site: Site) -> None:
    pid = fhir_site.world.patient_id
    assert _get(fhir_site, f"/fhir/Patient/{pid}", "physician").status_code == 200
    with transaction(fhir_site.engine) as db:
        reads = db.scalars(
            select(AuditEntry).where(AuditEntry.record_id == pid, AuditEntry.action == "read")
        ).all()
    assert any(r.actor.endswith("physician@clinic.example.org") for r in reads)


DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _dates(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [d for v in node.values() for d in _dates(v)]
    if isinstance(node, list):
        return [d for v in node for d in _dates(v)]
    return [node] if isinstance(node, str) and DATE.match(node) else []


def test_a_researcher_gets_de_identified_resources(fhir_site: Site) -> None:
    identified = [e["resource"] for e in all_entries(fhir_site, "admin", "/fhir/Patient")]
    real_ids = {p["id"] for p in identified}
    names = {p["name"][0]["text"] for p in identified}
    for resource_type in ("Patient", "Procedure", "Observation", "Condition", "AdverseEvent", "Encounter"):
        found = [
            e["resource"] for e in all_entries(fhir_site, "researcher", f"/fhir/{resource_type}?_count=200")
        ]
        assert found
        for resource in found:
            check_resource(resource)
            text = str(resource)
            assert "name" not in resource and "identifier" not in resource and "note" not in resource
            assert not _dates(resource), f"an exact date in {resource_type}: {_dates(resource)}"
            assert not any(i in text for i in real_ids)
            assert not any(n in text for n in names)
    patient = all_entries(fhir_site, "researcher", "/fhir/Patient")[0]["resource"]
    read = _get(fhir_site, f"/fhir/Patient/{patient['id']}", "researcher")
    assert read.status_code == 200 and read.json() == patient
    everything = _get(fhir_site, f"/fhir/Patient/{patient['id']}/$everything", "researcher").json()
    assert everything["total"] >= 1
    assert not any(i in str(everything) for i in real_ids)
    _outcome(_get(fhir_site, "/fhir/AuditEvent", "researcher"), 403)
    _outcome(_get(fhir_site, "/fhir/Patient?name=a", "researcher"), 403)
