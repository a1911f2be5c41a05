"""Strict JSON on the API (D12) and the date bounds on input (D1, D2).

No number for a date, no text for a number, no number for text; dates within the bounds of
bontrack.dates, each refusal a 4xx naming the field and what is allowed, nothing saved.
Timestamps go out with their time zone (RFC 3339).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bontrack import clock
from bontrack.injections.models import InjectionSessionRow
from bontrack.patients.models import PatientRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site

TODAY = dt.date.today()
"""The day the tests run; each date-bound test pins the server's clock to it, so a run across
midnight cannot move the bounds between the test's arithmetic and the server's check."""
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _count(site: Site, row: Any) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(row)) or 0)


def _session_body(site: Site, **extra: Any) -> dict[str, Any]:
    return session_input(site.world).model_dump(mode="json", exclude_none=True) | extra


def _patient(**extra: Any) -> dict[str, Any]:
    return {"record_number": "P-900", "name": "Pat Doe", "birth_date": "1970-06-15", "sex": "female"} | extra


def _refused(response: Any, field: str, status: int = 422) -> str:
    assert response.status_code == status, response.text
    problem = response.json()
    fields = [e["field"] for e in problem["errors"]]
    assert field in fields, fields
    message: str = problem["errors"][fields.index(field)]["message"]
    return message


@pytest.mark.parametrize("value", [0, "0", 1767225600, "1767225600", 19700101.0, True, "01/02/1970"])
def test_patients__a_birth_date_that_is_not_text_yyyy_mm_dd_is_refused(site: Site, value: Any) -> None:
    before = _count(site, PatientRow)
    response = site.client.post(
        "/api/patients", json=_patient(birth_date=value), headers=site.bearer("staff")
    )
    assert "YYYY-MM-DD" in _refused(response, "birth_date")
    assert _count(site, PatientRow) == before


def test_outcomes__a_unix_time_for_the_date_is_refused(site: Site) -> None:
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": 1767225600,
        "answers": {"1": 6},
    }
    response = site.client.post("/api/outcomes", json=body, headers=site.bearer("physician"))
    assert "YYYY-MM-DD" in _refused(response, "date")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vial_units": "100"}, "vial_units"),
        ({"diluent_ml": "2"}, "diluent_ml"),
        ({"vial_count": "1"}, "vial_count"),
        ({"vial_count": True}, "vial_count"),
    ],
)
def test_sessions__text_or_true_for_a_number_is_refused(
    site: Site, change: dict[str, Any], field: str
) -> None:
    response = site.client.post(
        "/api/sessions", json=_session_body(site, **change), headers=site.bearer("physician")
    )
    _refused(response, field)
    assert _count(site, InjectionSessionRow) == 0


def test_sessions__units_given_as_text_are_refused_and_nothing_is_saved(site: Site) -> None:
    body = _session_body(site)
    body["sites"][0]["units"] = "25"
    response = site.client.post("/api/sessions", json=body, headers=site.bearer("physician"))
    assert "number" in _refused(response, "sites[0].units")
    assert _count(site, InjectionSessionRow) == 0
    body["sites"][0]["units"] = 25
    assert site.client.post("/api/sessions", json=body, headers=site.bearer("physician")).status_code == 201


@pytest.mark.parametrize(("field", "value"), [("name", 12345), ("record_number", 900), ("sex", 1)])
def test_patients__a_number_for_text_is_refused(site: Site, field: str, value: Any) -> None:
    response = site.client.post(
        "/api/patients", json=_patient(**{field: value}), headers=site.bearer("staff")
    )
    _refused(response, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "9999-12-31"}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"lot_expiry": "9999-12-31"}, "lot_expiry"),
        ({"reconstituted_at": "9999-12-31T23:59:00"}, "reconstituted_at"),
        ({"administered_at": "9999-12-31T10:00:00+01:00"}, "administered_at"),
    ],
)
def test_sessions_check__dates_out_of_range_are_a_4xx_naming_the_field(
    site: Site, change: dict[str, Any], field: str
) -> None:
    response = site.client.post(
        "/api/sessions/check", json=_session_body(site, **change), headers=site.bearer("physician")
    )
    message = _refused(response, field)
    assert "1900-01-01" in message and "allowed" in message


def test_bounds__birth_event_and_planned_dates(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    headers = site.bearer("physician")
    tomorrow, later = TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2)
    born = site.client.post("/api/patients", json=_patient(birth_date=tomorrow.isoformat()), headers=headers)
    assert "not after today" in _refused(born, "birth_date")
    outcome = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "answers": {"1": 6},
    }
    late = site.client.post("/api/outcomes", json=outcome | {"date": later.isoformat()}, headers=headers)
    assert "not after tomorrow" in _refused(late, "date")
    ok = site.client.post("/api/outcomes", json=outcome | {"date": tomorrow.isoformat()}, headers=headers)
    assert ok.status_code == 201, ok.text
    plan = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "therapist_id": site.world.clinician_id,
        "weeks": 6,
        "visits_per_week": 2,
    }
    far = TODAY.replace(year=TODAY.year + 3, day=1)
    refused = site.client.post(
        "/api/therapy/plans", json=plan | {"start_date": far.isoformat()}, headers=headers
    )
    assert "at most 2 years ahead" in _refused(refused, "start_date")
    soon = TODAY.replace(year=TODAY.year + 1, day=1)
    planned = site.client.post(
        "/api/therapy/plans", json=plan | {"start_date": soon.isoformat()}, headers=headers
    )
    assert planned.status_code == 201, planned.text


def test_timestamps__sent_with_a_time_zone(site: Site) -> None:
    headers = site.bearer("physician")
    patient = site.client.get(f"/api/patients/{site.world.patient_id}", headers=headers).json()
    assert RFC3339.match(patient["recorded_at"]), patient["recorded_at"]
    me = site.client.get("/api/auth/me", headers=headers).json()
    assert RFC3339.match(me["created_at"]), me["created_at"]
    token = site.client.post(
        "/api/auth/token",
        data={"username": "physician@clinic.example.org", "password": "pw-physician-correct-horse"},
    ).json()
    assert RFC3339.match(token["expires_at"]), token["expires_at"]


def test_clock_times__accepted_with_an_offset_and_kept_as_the_clinics_local_time(site: Site) -> None:
    day = session_input(site.world).date.isoformat()
    body = _session_body(site, reconstituted_at=f"{day}T08:30:00+01:00")
    response = site.client.post("/api/sessions/check", json=body, headers=site.bearer("physician"))
    assert response.status_code == 200, response.text
    assert response.json()["reconstituted_at"] == f"{day}T08:30:00"
    number = site.client.post(
        "/api/sessions/check",
        json=_session_body(site, reconstituted_at=1772440200),
        headers=site.bearer("physician"),
    )
    _refused(number, "reconstituted_at")
