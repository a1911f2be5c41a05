"""Content negotiation of the FHIR facade (R4 http.html#mime): JSON is the one format served, so a
request that accepts no JSON is 406 and a body that is not JSON is 415, each an OperationOutcome
in JSON naming what is offered; HEAD answers where GET does; ``gender`` takes a comma list (OR);
an id longer than FHIR's id rule is not echoed whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_facade.fhir_support import check_resource
from fhir_facade.test_import_api import bundle, versions
from web.conftest import Site
from web.conftest import cheap_password_hashing as cheap_password_hashing  # autouse here too
from web.conftest import site as site
from web.conftest import sqlite_engine as sqlite_engine
from web.conftest import template_db as template_db

XML_ASKS = [
    "application/fhir+xml",
    "application/xml",
    "text/xml",
    "application/fhir+xml, text/html;q=0.9",
    "application/json;q=0, application/fhir+json;q=0",
]
JSON_ASKS = [
    "application/fhir+json",
    "application/json",
    "application/fhir+json; fhirVersion=4.0",
    "*/*",
    "application/*",
    "application/fhir+xml;q=0.9, application/fhir+json;q=0.1",
    "text/html, */*;q=0.1",
]


def _outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    check_resource(body)
    assert body["resourceType"] == "OperationOutcome"
    return body


def _paths(site: Site) -> list[str]:
    return ["/fhir/metadata", "/fhir/Patient", f"/fhir/Patient/{site.world.patient_id}"]


@pytest.mark.parametrize("accept", XML_ASKS)
def test_accept__no_json_accepted_is_406_naming_the_formats_offered(fhir_site: Site, accept: str) -> None:
    for path in _paths(fhir_site):
        response = fhir_site.client.get(path, headers=fhir_site.bearer("admin") | {"Accept": accept})
        (issue,) = _outcome(response, 406)["issue"]
        assert issue["code"] == "not-supported", path
        assert "application/fhir+json" in issue["diagnostics"] and "Accept" in issue["diagnostics"], path


@pytest.mark.parametrize("accept", [*JSON_ASKS, None])
def test_accept__any_accept_that_allows_json_is_answered(fhir_site: Site, accept: str | None) -> None:
    headers = fhir_site.bearer("admin") | ({"Accept": accept} if accept is not None else {})
    for path in _paths(fhir_site):
        response = fhir_site.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("application/fhir+json")


@pytest.mark.parametrize("fmt", ["xml", "application/fhir%2Bxml", "text/xml", "ttl"])
def test_format__a_format_other_than_json_is_406_naming_format(fhir_site: Site, fmt: str) -> None:
    for path in _paths(fhir_site):
        response = fhir_site.client.get(f"{path}?_format={fmt}", headers=fhir_site.bearer("admin"))
        (issue,) = _outcome(response, 406)["issue"]
        assert issue["expression"] == ["_format"] and "json" in issue["diagnostics"], path


@pytest.mark.parametrize(
    "fmt", ["json", "application/json", "application/fhir%2Bjson", "application/fhir+json"]
)
def test_format__json_is_answered_and_overrides_accept(fhir_site: Site, fmt: str) -> None:
    headers = fhir_site.bearer("admin") | {"Accept": "application/fhir+xml"}
    for path in _paths(fhir_site):
        response = fhir_site.client.get(f"{path}?_format={fmt}", headers=headers)
        assert response.status_code == 200, (path, response.text)


def test_capability_statement__says_json_only(fhir_site: Site) -> None:
    assert fhir_site.client.get("/fhir/metadata").json()["format"] == ["json"]


@pytest.mark.parametrize(
    "content_type",
    ["application/fhir+xml", "application/xml", "text/plain", "application/x-www-form-urlencoded"],
)
def test_import__a_body_that_is_not_json_is_415_and_writes_nothing(site: Site, content_type: str) -> None:
    before = versions(site.engine)
    for path, doc in (("/fhir", b"<Bundle xmlns='http://hl7.org/fhir'/>"), ("/fhir/Patient", b"<Patient/>")):
        response = site.client.post(
            path, content=doc, headers=site.bearer("physician") | {"Content-Type": content_type}
        )
        (issue,) = _outcome(response, 415)["issue"]
        assert issue["code"] == "not-supported"
        assert "application/fhir+json" in issue["diagnostics"] and "application/json" in issue["diagnostics"]
    assert versions(site.engine) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/fhir+json; charset=utf-8", None])
def test_import__json_content_types_are_read(site: Site, content_type: str | None) -> None:
    headers = site.bearer("physician") | ({"Content-Type": content_type} if content_type else {})
    response = site.client.post("/fhir", content=json.dumps(bundle()).encode(), headers=headers)
    assert response.status_code == 200, response.text


def test_import__accept_xml_is_406(site: Site) -> None:
    before = versions(site.engine)
    headers = site.bearer("physician") | {
        "Content-Type": "application/fhir+json",
        "Accept": "application/fhir+xml",
    }
    _outcome(site.client.post("/fhir", content=json.dumps(bundle()).encode(), headers=headers), 406)
    assert versions(site.engine) == before


def test_head__answers_where_get_does(fhir_site: Site) -> None:
    headers = fhir_site.bearer("admin")
    for path in (*_paths(fhir_site), f"/fhir/Patient/{fhir_site.world.patient_id}/$everything"):
        got = fhir_site.client.get(path, headers=headers)
        head = fhir_site.client.head(path, headers=headers)
        assert head.status_code == 200, (path, head.text)
        assert head.headers["content-type"] == got.headers["content-type"], path
    assert fhir_site.client.head("/fhir/Patient/not-there", headers=headers).status_code == 404


def test_gender__a_comma_list_is_any_of_them(fhir_site: Site) -> None:
    headers = fhir_site.bearer("admin")

    def total(query: str) -> int:
        response = fhir_site.client.get(f"/fhir/Patient?{query}&_summary=count", headers=headers)
        assert response.status_code == 200, response.text
        found: int = response.json()["total"]
        return found

    female, male = total("gender=female"), total("gender=male")
    assert female > 0 and male > 0
    assert total("gender=female,male") == female + male
    assert total("gender=male,female") == female + male


def test_gender__an_unknown_value_is_400_naming_the_allowed_ones(fhir_site: Site) -> None:
    response = fhir_site.client.get("/fhir/Patient?gender=female,robot", headers=fhir_site.bearer("admin"))
    (issue,) = _outcome(response, 400)["issue"]
    assert issue["expression"] == ["gender"]
    assert "'robot'" in issue["diagnostics"]
    assert all(g in issue["diagnostics"] for g in ("female", "male", "other", "unknown"))


@pytest.mark.parametrize("rid", ["a" * 5000, "x" * 65, "has space", "semi;colon"])
def test_read__an_id_outside_the_id_rule_is_404_saying_so_without_echoing_it(
    fhir_site: Site, rid: str
) -> None:
    for path in (f"/fhir/Patient/{rid}", f"/fhir/Procedure/{rid}", f"/fhir/Patient/{rid}/$everything"):
        response = fhir_site.client.get(path, headers=fhir_site.bearer("admin"))
        (issue,) = _outcome(response, 404)["issue"]
        assert issue["expression"] == ["id"]
        assert len(issue["diagnostics"]) < 300, path
        assert "1-64" in issue["diagnostics"], path


LONG = "z" * 5000


@pytest.mark.parametrize(
    "query",
    [
        f"/fhir/Patient?{LONG}=1",  # an unknown search parameter
        f"/fhir/Patient?_count={LONG}",
        f"/fhir/Procedure?date={LONG}",
        f"/fhir/Patient?_include={LONG}",
        f"/fhir/Patient?gender={LONG}",
    ],
)
def test_search__a_long_value_sent_is_not_echoed_whole(fhir_site: Site, query: str) -> None:
    """What a client sent is repeated in an error's words and expression cut at 64 characters."""
    response = fhir_site.client.get(query, headers=fhir_site.bearer("admin"))
    (issue,) = _outcome(response, 400)["issue"]
    assert "z" * 65 not in issue["diagnostics"] and len(issue["diagnostics"]) < 500, issue["diagnostics"]
    assert all(len(e) <= 64 for e in issue.get("expression", []))
