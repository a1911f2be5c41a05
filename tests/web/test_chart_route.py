"""The chart route does its work in one worker thread, outside FastAPI's dependencies
(bontrack.web.api.patients.read_patient_chart, issue 18 item 6): it must answer every caller as
the routes on FastAPI's dependencies do. GET /api/patients/{id} checks the same log-in, role and
path parameter on them, so for every caller and id the chart's refusals (status, problem,
headers) and audit entries must be the patient route's, and its documentation the same."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select

from bontrack.audit.models import AuditEntry
from bontrack.patient_reads import current_of_patient
from bontrack.patients.service import get_patient
from bontrack.storage.engine import transaction
from bontrack.storage.times import recorded_by_clock
from bontrack.web.api.patients import _CHART_KINDS
from bontrack.web.api.schemas import PatientChart
from factories import ACTOR
from web.conftest import Site, make_site, populate

CALLERS = ("physician", "staff", "researcher", "admin", "no token", "unknown token", "basic")
_SEQ = AuditEntry.seq


def _headers(site: Site, caller: str) -> dict[str, str]:
    if caller == "no token":
        return {}
    if caller == "unknown token":
        return {"Authorization": "Bearer not-a-token"}
    if caller == "basic":
        return {"Authorization": "Basic dXNlcjpwdw=="}
    return site.bearer(caller)


def _last_seq(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.coalesce(func.max(_SEQ), 0))) or 0)


def _entries_after(site: Site, seq: int) -> list[tuple[Any, ...]]:
    with transaction(site.engine) as db:
        found = db.scalars(select(AuditEntry).where(seq < _SEQ).order_by(_SEQ)).all()
        return [
            (e.actor, e.action, e.record_type, e.record_id, e.clinic_id, e.detail, e.outcome) for e in found
        ]


def _asked(site: Site, path: str, headers: dict[str, str]) -> tuple[int, Any, dict[str, str], list[Any]]:
    before = _last_seq(site)
    response = site.client.get(path, headers=headers)
    # (the patient route names its version as ETag for corrections; the chart, of many records, has none)
    shown = {k: v for k, v in response.headers.items() if k not in ("content-length", "etag")}
    body = response.json() if response.status_code != 200 else None
    return response.status_code, body, shown, _entries_after(site, before)


@pytest.mark.parametrize("caller", CALLERS)
def test_the_chart_refuses_and_audits_every_caller_as_the_patient_route_does(
    engine: Engine, caller: str
) -> None:
    site = make_site(engine, populate(engine))
    headers = _headers(site, caller)
    for patient_id in (site.world.patient_id, "0" * 36, "a_b", "x" * 37, "%20"):
        chart = _asked(site, f"/api/patients/{patient_id}/chart", headers)
        patient = _asked(site, f"/api/patients/{patient_id}", headers)
        status, body, shown, entries = chart
        assert (status, body, shown) == patient[:3], (caller, patient_id)
        # a denied attempt names the path asked; otherwise the entries are the patient's own read
        # (the chart reads more: its other records)
        renamed = [
            (*e[:5], str(e[5]).replace("/chart", ""), *e[6:]) if e[6] == "denied" else e for e in entries
        ]
        if status == 200:
            assert renamed[0] == patient[3][0] and len(renamed) > 1
        else:
            assert renamed == patient[3], (caller, patient_id)
        expected = {"physician": 200, "staff": 200, "admin": 200, "researcher": 403}.get(caller, 401)
        if expected == 200 and patient_id != site.world.patient_id:
            expected = 404 if patient_id == "0" * 36 else 422
        assert status == expected, (caller, patient_id, body)


def test_the_chart_is_documented_as_before(site: Site) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    chart = paths["/api/patients/{patient_id}/chart"]["get"]
    patient = paths["/api/patients/{patient_id}"]["get"]
    assert chart["parameters"] == patient["parameters"]
    assert chart["operationId"] == "read_patient_chart" and chart["tags"] == ["patients"]
    assert chart["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PatientChart"
    }
    assert set(chart["responses"]) == set(patient["responses"])


def test_the_chart_thread_runs_in_the_requests_context(engine: Engine) -> None:
    """The chart's worker thread runs in a copy of the request's context (as run_in_threadpool's
    threads do): the audit clock set around the request (bontrack.storage.times) dates the
    chart's read entries."""
    site = make_site(engine, populate(engine))
    headers = site.bearer("physician")
    stamped = dt.datetime(2031, 1, 2, 3, 4, 5)

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=site.client.app)
        with recorded_by_clock(lambda: stamped):
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.get(f"/api/patients/{site.world.patient_id}/chart", headers=headers)

    before = _last_seq(site)
    response = asyncio.run(ask())
    assert response.status_code == 200, response.text
    with transaction(site.engine) as db:
        dated = db.scalars(select(AuditEntry.at).where(before < _SEQ)).all()
    assert len(dated) > 1 and set(dated) == {stamped}


def test_the_chart_is_its_response_model_as_json(engine: Engine) -> None:
    """The chart's JSON is written from the versions as read, not through a PatientChart: it must be
    byte for byte the JSON of the PatientChart it documents (response_model), built from the same
    reads."""
    site = make_site(engine, populate(engine))
    patient_id = site.world.patient_id
    response = site.client.get(f"/api/patients/{patient_id}/chart", headers=site.bearer("physician"))
    assert response.status_code == 200, response.text
    with transaction(site.engine) as db:
        patient = get_patient(db=db, actor=ACTOR, patient_id=patient_id)
        kinds = current_of_patient(db, ACTOR, patient_id, _CHART_KINDS)
    names = [name for name in PatientChart.model_fields if name != "patient"]
    chart = PatientChart(patient=patient, **dict(zip(names, kinds, strict=True)))
    assert sum(1 for found in kinds if found) >= 4  # the world's episode, screening, examination, plan
    assert response.content == TypeAdapter(PatientChart).dump_json(chart, by_alias=True)
