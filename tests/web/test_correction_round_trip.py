"""A client that reads a record (``GET``), changes one field and sends the whole ``data`` back
(``PUT``) succeeds: the fields bontrack computes (a session's decision, total units and physical
therapy flag; an outcome's scoring) are accepted as read and ignored, and refused (400 naming the
field, nothing written) when they differ from what is stored."""

from __future__ import annotations

from typing import Any

from bontrack.kinds import CORRECTABLE
from web.conftest import Site
from web.test_corrections_api import _one_of_each as one_of_each
from web.test_corrections_api import _saved as saved
from web.test_corrections_api import _session_body as session_body
from web.test_corrections_api import _versions as stored_versions

REASON = "lot typed wrong"


def _read(site: Site, path: str, role: str = "physician") -> tuple[dict[str, Any], str]:
    response = site.client.get(path, headers=site.bearer(role))
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


def test_round_trip__a_session_read_changed_and_sent_back_is_saved(site: Site) -> None:
    session = saved(site, "/api/sessions", session_body(site))
    path = f"/api/sessions/{session['id']}"
    read, etag = _read(site, path)
    assert {"decision", "total_units", "physical_therapy", "knowledge_version"} <= set(read["data"])
    data = read["data"] | {"lot": "C9999"}
    response = site.client.put(
        path, json={"data": data, "reason": REASON}, headers=site.bearer("physician") | {"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2 and response.json()["data"]["lot"] == "C9999"


def test_round_trip__computed_values_as_read_are_ignored_when_the_plan_changes(site: Site) -> None:
    session = saved(site, "/api/sessions", session_body(site))
    path = f"/api/sessions/{session['id']}"
    read, _etag = _read(site, path)
    data = read["data"] | {"sites": [s | {"units": 20} for s in read["data"]["sites"]]}
    assert data["total_units"] == 50  # as read: the earlier plan's total
    response = site.client.put(
        path, json={"data": data, "reason": "20 U each"}, headers=site.bearer("physician")
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["total_units"] == 40  # computed again from the corrected plan


def test_round_trip__a_computed_value_that_differs_is_refused_naming_it(site: Site) -> None:
    session = saved(site, "/api/sessions", session_body(site))
    path = f"/api/sessions/{session['id']}"
    read, _etag = _read(site, path)
    before = stored_versions(site)
    for field, value in (("total_units", 999), ("physical_therapy", not read["data"]["physical_therapy"])):
        data = read["data"] | {"lot": "C9999", field: value}
        response = site.client.put(
            path, json={"data": data, "reason": REASON}, headers=site.bearer("physician")
        )
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == f"data.{field}"
        assert "computed by bontrack" in error["message"] and "leave it out" in error["message"]
    assert stored_versions(site) == before


def test_round_trip__a_stale_version_is_a_conflict_not_a_computed_field_error(site: Site) -> None:
    session = saved(site, "/api/sessions", session_body(site))
    path = f"/api/sessions/{session['id']}"
    first, etag = _read(site, path)
    changed = first["data"] | {"sites": [s | {"units": 20} for s in first["data"]["sites"]]}
    headers = site.bearer("physician")
    assert site.client.put(path, json={"data": changed, "reason": "20 U"}, headers=headers).status_code == 200
    # made from version 1, whose total is no longer the stored one: the version is what is wrong
    late = first["data"] | {"lot": "C9999"}
    response = site.client.put(
        path, json={"data": late, "reason": REASON}, headers=headers | {"If-Match": etag}
    )
    assert response.status_code == 409, response.text


def test_round_trip__an_outcome_read_changed_and_sent_back_is_scored_again(site: Site) -> None:
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-04-13",
        "answers": {"1": 6},
    }
    outcome = saved(site, "/api/outcomes", body, role="staff")
    path = f"/api/outcomes/{outcome['id']}"
    read, _etag = _read(site, path, "staff")
    assert "scoring" in read["data"]
    data = read["data"] | {"answers": {"1": 3}}
    response = site.client.put(
        path, json={"data": data, "reason": "pointed at 3"}, headers=site.bearer("staff")
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["scoring"]["scores"]["pain_intensity"] == 3
    wrong = read["data"] | {"answers": {"1": 2}, "scoring": {"scores": {"pain_intensity": 2}}}
    refused = site.client.put(path, json={"data": wrong, "reason": "2"}, headers=site.bearer("staff"))
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "data.scoring"


def test_round_trip__every_record_type_takes_its_data_as_read(site: Site) -> None:
    """The whole ``data`` of the current version, sent back unchanged, is understood (and refused
    only because nothing changed), for every record type that can be corrected."""
    ids = one_of_each(site)
    headers = site.bearer("physician")
    for kind in CORRECTABLE.values():
        path = f"/api/{kind.collection}/{ids[kind.name]}"
        data = site.client.get(f"{path}/history", headers=headers).json()[-1]["data"]
        response = site.client.put(path, json={"data": data, "reason": "checked again"}, headers=headers)
        assert response.status_code == 400, (kind.name, response.text)
        (error,) = response.json()["errors"]
        assert error["text"].startswith("Nothing was changed"), (kind.name, error)
