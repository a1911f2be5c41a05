"""Bulk Data $export: kick-off, status polling (202, then 200 with the manifest), NDJSON files
where every line is a valid resource, scoped and de-identified like every other read."""

from __future__ import annotations

import json
import time
from typing import Any

from fhir_facade.fhir_support import all_entries, check_resource
from web.conftest import Site

ASYNC = {"Prefer": "respond-async"}
POLLS = 600  # the job runs in a background thread: poll (not timed) until it is done


def kick_off(site: Site, role: str, path: str = "/fhir/$export") -> str:
    response = site.client.get(path, headers={**site.bearer(role), **ASYNC})
    assert response.status_code == 202, response.text
    return str(response.headers["Content-Location"])


def manifest(site: Site, role: str, status_url: str) -> dict[str, Any]:
    for _ in range(POLLS):
        response = site.client.get(status_url, headers=site.bearer(role))
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert response.status_code == 202, response.text
        assert response.headers["X-Progress"]
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def lines(site: Site, role: str, url: str) -> list[dict[str, Any]]:
    response = site.client.get(url, headers=site.bearer(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_the_whole_clinic_exports_and_every_line_validates(fhir_site: Site) -> None:
    found = manifest(fhir_site, "admin", kick_off(fhir_site, "admin"))
    assert found["requiresAccessToken"] is True
    counts = {}
    for output in found["output"]:
        resources = lines(fhir_site, "admin", output["url"])
        assert len(resources) == output["count"]
        for resource in resources:
            assert resource["resourceType"] == output["type"]
            check_resource(resource)
        counts[output["type"]] = len(resources)
    for resource_type in ("Patient", "Procedure", "Observation", "MedicationAdministration", "Encounter"):
        searched = all_entries(fhir_site, "admin", f"/fhir/{resource_type}?_count=500")
        assert counts[resource_type] == len(searched), resource_type


def test_patient_level_export_of_a_physician_holds_only_their_clinic(fhir_site: Site) -> None:
    found = manifest(fhir_site, "physician", kick_off(fhir_site, "physician", "/fhir/Patient/$export"))
    patients = next(o for o in found["output"] if o["type"] == "Patient")
    exported = lines(fhir_site, "physician", patients["url"])
    assert [p["id"] for p in exported] == [fhir_site.world.patient_id]
    assert "Practitioner" not in {o["type"] for o in found["output"]}


def test_a_researchers_export_is_de_identified(fhir_site: Site) -> None:
    found = manifest(fhir_site, "researcher", kick_off(fhir_site, "researcher"))
    real = {e["resource"]["id"] for e in all_entries(fhir_site, "admin", "/fhir/Patient")}
    for output in found["output"]:
        for resource in lines(fhir_site, "researcher", output["url"]):
            check_resource(resource)
            assert "name" not in resource or resource["resourceType"] in ("Organization", "Questionnaire")
            assert not any(i in json.dumps(resource) for i in real)


def test_only_the_starter_sees_a_job_and_cancel_deletes_it(fhir_site: Site) -> None:
    status_url = kick_off(fhir_site, "admin")
    found = manifest(fhir_site, "admin", status_url)
    other = fhir_site.client.get(status_url, headers=fhir_site.bearer("researcher"))
    assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
    file_url = found["output"][0]["url"]
    assert fhir_site.client.get(file_url, headers=fhir_site.bearer("researcher")).status_code == 404
    assert fhir_site.client.get(file_url).status_code == 401
    assert fhir_site.client.delete(status_url, headers=fhir_site.bearer("admin")).status_code == 202
    assert fhir_site.client.get(status_url, headers=fhir_site.bearer("admin")).status_code == 404


def test_a_kick_off_is_checked(fhir_site: Site) -> None:
    headers = fhir_site.bearer("admin")
    no_prefer = fhir_site.client.get("/fhir/$export", headers=headers)
    assert no_prefer.status_code == 400
    assert no_prefer.json()["issue"][0]["expression"] == ["Prefer"]
    bad = fhir_site.client.get("/fhir/$export?_type=AuditEvent&_since=soon&x=1", headers={**headers, **ASYNC})
    assert bad.status_code == 400
    where = {i["expression"][0] for i in bad.json()["issue"]}
    assert where == {"_type", "_since", "x"}
    assert fhir_site.client.get("/fhir/$export", headers={**fhir_site.bearer("staff")}).status_code == 400


def test_a_researchers_since_is_refused_as_lastupdated_is(fhir_site: Site) -> None:
    """Exports since one instant and the next would date each change exactly, where de-identified
    data gives dates to the year: 400 naming _since, nothing started; an admin's works."""
    headers = {**fhir_site.bearer("researcher"), **ASYNC}
    for since in ("2026-01-31T00:00:00Z", "soon"):
        refused = fhir_site.client.get(f"/fhir/$export?_since={since}", headers=headers)
        assert refused.status_code == 400, refused.text
        (issue,) = refused.json()["issue"]
        assert issue["expression"] == ["_since"] and "de-identified" in issue["diagnostics"]
        assert "Content-Location" not in refused.headers
    assert kick_off(fhir_site, "researcher")  # without _since: started
    assert kick_off(fhir_site, "admin", "/fhir/$export?_since=2026-01-31T00:00:00Z")


def test_type_and_since_narrow_the_export(fhir_site: Site) -> None:
    url = kick_off(fhir_site, "admin", "/fhir/$export?_type=Patient,Condition&_since=2999-01-01T00:00:00Z")
    assert manifest(fhir_site, "admin", url)["output"] == []
    url = kick_off(fhir_site, "admin", "/fhir/$export?_type=Condition")
    assert {o["type"] for o in manifest(fhir_site, "admin", url)["output"]} == {"Condition"}


def test_a_resource_that_fhir_would_refuse_never_shares_a_validated_shape() -> None:
    from bontrack.fhir.bulk import shape

    good = {"resourceType": "Patient", "id": "a", "gender": "female", "birthDate": "1970"}
    assert shape(good) == shape({**good, "id": "b", "gender": "male"})
    for bad in ("", " padded", "padded "):
        assert shape({**good, "gender": bad}) != shape(good)
    assert shape({**good, "birthDate": 1970}) != shape(good)
    assert shape({**good, "extra": []}) != shape(good)


def test_a_days_old_job_is_deleted_at_the_next_kick_off(fhir_site: Site) -> None:
    first = kick_off(fhir_site, "admin", "/fhir/$export?_type=Organization")
    manifest(fhir_site, "admin", first)
    fhir_site.clock.advance(hours=25)
    fhir_site.tokens.clear()  # the bearer token has expired too: log in again
    second = kick_off(fhir_site, "admin", "/fhir/$export?_type=Organization")
    assert fhir_site.client.get(first, headers=fhir_site.bearer("admin")).status_code == 404
    assert manifest(fhir_site, "admin", second)["output"]
