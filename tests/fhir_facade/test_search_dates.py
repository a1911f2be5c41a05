"""Date search at the precision given (FHIR: each prefix against the value's implicit range), bad
times refused naming the parameter, _lastUpdated refused for researchers, and AuditEvent _id
filtered before paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bontrack.fhir.search_params import date_matches
from web.conftest import Site


def _get(site: Site, path: str, role: str = "admin") -> Any:
    return site.client.get(path, headers=site.bearer(role))


@pytest.mark.parametrize(
    ("search", "value", "expected"),
    [
        ("gt2026-12-06T02:38:00Z", "2026-12-06T02:38:08Z", True),  # the same day, later
        ("gt2026-12-06T02:38:08Z", "2026-12-06T02:38:08Z", False),
        ("ge2026-12-06T02:38:08Z", "2026-12-06T02:38:08Z", True),
        ("lt2026-12-06T02:38:08Z", "2026-12-06T02:38:07Z", True),
        ("lt2026-12-06T02:38:08Z", "2026-12-06T02:38:08Z", False),
        ("eq2026-12-06T02:38Z", "2026-12-06T02:38:59Z", True),  # minute precision: that minute
        ("eq2026-12-06T02:38Z", "2026-12-06T02:39:00Z", False),
        ("2026-12-06", "2026-12-06T23:59:59Z", True),
        ("gt2026-12-06", "2026-12-06T23:59:59Z", False),
        ("ne2026-12-06", "2026-12-07T00:00:00Z", True),
        ("ge2026-12-06T03:38:08+01:00", "2026-12-06T02:38:08Z", True),  # a zone is honoured
        ("gt2026-12-06T03:38:08+01:00", "2026-12-06T02:38:08Z", False),
        ("le2026", "2026-12-31", True),
        ("sa2025", "2026-01-01", True),
        ("eb2026-12-06T02:38:09Z", "2026-12-06T02:38:08Z", True),
    ],
)
def test_date_prefixes_compare_the_implicit_ranges(search: str, value: str, expected: bool) -> None:
    assert date_matches(search, value) is expected


def test_last_updated_to_the_second(fhir_site: Site) -> None:
    patient = _get(fhir_site, f"/fhir/Patient/{fhir_site.world.patient_id}").json()
    stamp = patient["meta"]["lastUpdated"]
    at = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    earlier = (at - dt.timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = lambda query: {  # noqa: E731
        e["resource"]["id"]
        for e in _get(fhir_site, f"/fhir/Patient?_count=500&{query}").json().get("entry", [])
    }
    assert patient["id"] in ids(f"_lastUpdated=gt{earlier}")
    assert patient["id"] not in ids(f"_lastUpdated=gt{stamp}")
    assert patient["id"] in ids(f"_lastUpdated=ge{stamp}")
    assert patient["id"] in ids(f"_lastUpdated=eq{stamp}")


@pytest.mark.parametrize(
    "query",
    [
        "Patient?_lastUpdated=2026-12-06T25:00",
        "Patient?_lastUpdated=gt2026-12-06T10:61:00Z",
        "Patient?birthdate=1980-01-01T10:00:60Z",
        "Observation?date=2026-03-02T24:00Z",
        "Patient?_lastUpdated=2026-12-06T10:00:00+25:00",
    ],
)
def test_an_impossible_time_is_a_400_naming_the_parameter(fhir_site: Site, query: str) -> None:
    response = _get(fhir_site, f"/fhir/{query}")
    assert response.status_code == 400, response.text
    param = query.split("?", 1)[1].split("=", 1)[0]
    assert response.json()["issue"][0]["expression"] == [param]


def test_last_updated_is_refused_for_researchers(fhir_site: Site) -> None:
    for path in ("/fhir/Procedure?_lastUpdated=ge2020", "/fhir/Patient?_lastUpdated=gt2020-01-01T00:00:00Z"):
        response = _get(fhir_site, path, "researcher")
        assert response.status_code == 400, response.text
        issue = response.json()["issue"][0]
        assert issue["expression"] == ["_lastUpdated"] and "de-identified" in issue["diagnostics"]
    patient = _get(fhir_site, "/fhir/Patient?_count=1", "researcher").json()["entry"][0]["resource"]
    everything = _get(
        fhir_site, f"/fhir/Patient/{patient['id']}/$everything?_lastUpdated=ge2020", "researcher"
    )
    assert everything.status_code == 400


def test_researcher_everything_filters_dates_by_the_year_only(fhir_site: Site) -> None:
    """$everything filters what the researcher sees (years): an exact birth date is no oracle."""
    born = _get(fhir_site, f"/fhir/Patient/{fhir_site.world.patient_id}").json()["birthDate"]
    assert len(born) == 10
    for entry in _get(fhir_site, "/fhir/Patient?_count=500", "researcher").json()["entry"]:
        path = f"/fhir/Patient/{entry['resource']['id']}/$everything?birthdate=eq{born}"
        response = _get(fhir_site, path, "researcher")
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0


def test_audit_event_id_search_counts_matches_before_paging(fhir_site: Site) -> None:
    _get(fhir_site, f"/fhir/Patient/{fhir_site.world.patient_id}")  # an audited read at least
    newest = _get(fhir_site, "/fhir/AuditEvent?_count=3").json()
    assert newest["total"] > 3
    older = _get(fhir_site, "/fhir/AuditEvent?_count=3&_offset=3").json()["entry"][0]["resource"]["id"]
    for wanted in (newest["entry"][0]["resource"]["id"], older):
        found = _get(fhir_site, f"/fhir/AuditEvent?_id={wanted}").json()
        assert found["total"] == 1 and [e["resource"]["id"] for e in found["entry"]] == [wanted]
    both = _get(
        fhir_site, f"/fhir/AuditEvent?_id={older},{newest['entry'][0]['resource']['id']},999999999"
    ).json()
    assert both["total"] == 2
    assert _get(fhir_site, "/fhir/AuditEvent?_id=nope").json()["total"] == 0
