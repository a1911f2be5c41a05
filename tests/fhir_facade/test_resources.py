"""Every resource type the facade serves is valid FHIR (fhir.resources' models) and carries the
pathway's content with the knowledge base's codes."""

from __future__ import annotations

from typing import Any

import pytest

from bontrack.fhir import codes
from bontrack.fhir.sources import ALL_TYPES
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from fhir_facade.fhir_support import all_entries, check_resource
from web.conftest import Site

SERVED = [t for t in ALL_TYPES if t != "AuditEvent"]


def resources(site: Site, resource_type: str, role: str = "admin") -> list[dict[str, Any]]:
    return [e["resource"] for e in all_entries(site, role, f"/fhir/{resource_type}?_count=200")]


@pytest.mark.parametrize("resource_type", [*SERVED, "AuditEvent"])
def test_every_type_is_served_and_validates(fhir_site: Site, resource_type: str) -> None:
    found = resources(fhir_site, resource_type)
    assert found, f"the test registry has no {resource_type}"
    for resource in found:
        assert resource["resourceType"] == resource_type
        check_resource(resource)


@pytest.mark.parametrize("resource_type", SERVED)
def test_read_gives_what_search_gave(fhir_site: Site, resource_type: str) -> None:
    first = resources(fhir_site, resource_type)[0]
    response = fhir_site.client.get(f"/fhir/{resource_type}/{first['id']}", headers=fhir_site.bearer("admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json() == first


def test_scores_are_observations_derived_from_their_form(fhir_site: Site) -> None:
    observations = resources(fhir_site, "Observation")
    forms = {r["id"] for r in resources(fhir_site, "QuestionnaireResponse")}
    nprs_loinc = load_definition("nprs").scores["pain_intensity"].loinc
    nprs = [o for o in observations if o["code"]["coding"][0].get("code") == nprs_loinc]
    assert nprs, "no NPRS observation"
    assert nprs_loinc == "72514-3"
    for obs in nprs:
        assert obs["code"]["coding"][0]["system"] == codes.LOINC
        derived = obs["derivedFrom"][0]["reference"].removeprefix("QuestionnaireResponse/")
        assert derived in forms
    local = [o for o in observations if o["code"]["coding"][0]["system"] == codes.LOCAL_SCORES]
    assert local, "scores without LOINC (RAND-36 scales) use the local code system"


def test_a_session_is_a_procedure_and_an_administration_with_codes_from_the_knowledge_base(
    fhir_site: Site,
) -> None:
    kb = load_knowledge()
    procedures = resources(fhir_site, "Procedure")
    snomed = {m.snomed for m in kb.files.muscles.values() if m.snomed}
    sites = [c for p in procedures for s in p["bodySite"] for c in s["coding"] if c["system"] == codes.SNOMED]
    assert sites and {c["code"] for c in sites} <= snomed
    assert all(p["performer"][0]["actor"]["reference"].startswith("Practitioner/") for p in procedures)
    assert all(p["extension"][0]["valueCode"] in ("allow", "warn", "block") for p in procedures)
    given = resources(fhir_site, "MedicationAdministration")
    assert {g["id"] for g in given} == {p["id"] for p in procedures}
    for g in given:
        medication = g["contained"][0]
        assert medication["batch"]["lotNumber"] and medication["batch"]["expirationDate"]
        assert g["dosage"]["route"]["coding"][0]["code"] == "IM"
        per_site = [e for e in g["extension"] if e["url"].endswith("/site-dose")]
        total = sum(e["extension"][1]["valueQuantity"]["value"] for e in per_site)
        assert total == pytest.approx(g["dosage"]["dose"]["value"])


def test_the_episode_is_a_condition_with_its_icd10_codes(fhir_site: Site) -> None:
    conditions = resources(fhir_site, "Condition")
    codings = [c for cond in conditions for c in cond["code"]["coding"]]
    assert {c["system"] for c in codings} == {codes.ICD10CM}
    assert "M54.2" in {c["code"] for c in codings}
    assert all(c["clinicalStatus"]["coding"][0]["code"] == "active" for c in conditions)


def test_questionnaires_hold_the_instrument_items(fhir_site: Site) -> None:
    ndi = fhir_site.client.get("/fhir/Questionnaire/ndi", headers=fhir_site.bearer("admin")).json()
    definition = load_definition("ndi")
    assert len(ndi["item"]) == len(definition.items)
    assert ndi["item"][0]["code"][0]["code"] == definition.items[0].loinc
    assert ndi["item"][0]["answerOption"][0]["valueCoding"]["display"] == definition.items[0].options[0].text


def test_capability_statement_lists_exactly_what_is_served(fhir_site: Site) -> None:
    response = fhir_site.client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    check_resource(statement)
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert [r["type"] for r in rest["resource"]] == list(ALL_TYPES)
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {p["name"] for p in patient["searchParam"]} >= {"identifier", "name", "birthdate"}
    assert {o["name"] for o in patient["operation"]} == {"everything", "export"}
    assert rest["operation"][0]["name"] == "export"


def test_an_overridden_session_names_the_blocks_acknowledged(fhir_site: Site) -> None:
    from factories import session_input

    body = session_input(fhir_site.world, units=400).model_dump(mode="json", exclude_none=True)
    acknowledged = ["dose.exceeds_vials", "dose.session_max"]
    body["override"] = {"reason": "Dose agreed with the clinic lead.", "acknowledged": acknowledged}
    saved = fhir_site.client.post("/api/sessions", json=body, headers=fhir_site.bearer("physician"))
    assert saved.status_code == 201, saved.text
    response = fhir_site.client.get(
        f"/fhir/Procedure/{saved.json()['id']}", headers=fhir_site.bearer("admin")
    )
    procedure = response.json()
    check_resource(procedure)
    (override,) = [e for e in procedure["extension"] if e["url"].endswith("/override")]
    parts = [(p["url"], p.get("valueCode") or p.get("valueString")) for p in override["extension"]]
    assert ("reason", "Dose agreed with the clinic lead.") in parts
    assert [v for url, v in parts if url == "acknowledged"] == acknowledged
