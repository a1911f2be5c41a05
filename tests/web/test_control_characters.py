"""Control and bidirectional characters (R5): input refuses C0 controls on every face, naming the
field; what is stored (a registry imported from elsewhere holds anything) still shows, isolated so
a U+202E cannot turn the rest of a line around; a NUL is never a 500 on PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from bontrack import records
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event
from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, saved_session, session_input
from web.conftest import Site, log_in, make_site, populate
from web.test_pages import post_form

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: everything after it on the line is shown reversed


def _patients(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(PatientRow)) or 0)


def _body(number: str, name: str) -> dict[str, Any]:
    return {"record_number": number, "name": name, "birth_date": "1970-06-15", "sex": "female"}


def test_api__nul_and_bel_in_a_name_are_refused_naming_the_field(site: Site) -> None:
    before = _patients(site)
    response = site.client.post(
        "/api/patients", json=_body("P-9", "Bad\x00Name\x07"), headers=site.bearer("staff")
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "name"
    assert error["text"].startswith("Name must not contain an invisible control character (found U+0000")
    assert _patients(site) == before


def test_api__a_lot_number_and_an_override_reason_are_checked_alike(site: Site) -> None:
    body = session_input(site.world, units=400).model_dump(mode="json", exclude_none=True)
    body |= {"lot": "C1\x1b[2J", "override": {"reason": "agreed\x07"}}
    response = site.client.post("/api/sessions", json=body, headers=site.bearer("physician"))
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == {"lot", "override.reason"}


def test_form__a_control_character_is_refused_in_words_and_nothing_is_written(site: Site) -> None:
    log_in(site, "staff")
    before = _patients(site)
    fields = {"record_number": "P-10", "name": "Ann\x07 Lee", "birth_date": "1970-06-15", "sex": "female"}
    status, html = post_form(site, "/patients/new", fields)
    assert status == 400
    assert "Name must not contain an invisible control character (found U+0007 at character 4)" in html
    assert _patients(site) == before


def test_form__a_textarea_line_break_is_accepted(site: Site) -> None:
    log_in(site, "staff")
    session_id = _session(site)
    path = f"/patients/{site.world.patient_id}/adverse-events/new"
    fields = {
        "session_id": session_id,
        "event": "neck weakness",
        "onset_date": "2026-03-02",
        "reported_date": "2026-03-02",
        "severity": "mild",
        "outcome": "first line\r\nsecond line",
    }
    status, html = post_form(site, path, fields)
    assert status == 303, html


def _session(site: Site) -> str:
    with transaction(site.engine) as db:
        return saved_session(db, site.world).id


def _poisoned(site: Site) -> tuple[str, str]:
    """A patient, a session's override and an adverse event holding a U+202E and control
    characters, written below the validation (as an import from elsewhere could have)."""
    with transaction(site.engine) as db:
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=site.world.patient_id)
        renamed = patient.data.model_copy(
            update={"name": f"Ann {RLO}Lee\x00\x07", "record_number": f"P{RLO}-77"}
        )
        other = records.create(db, row_cls=PatientRow, data=renamed, clinic_id=patient.clinic_id, actor=ACTOR)
        session = saved_session(
            db,
            site.world,
            units=400,
            override={
                "reason": "agreed with the lead",
                "clinician_id": site.world.clinician_id,
                "acknowledged": ["dose.exceeds_vials", "dose.session_max"],
            },
        )
        data = session.data.model_copy(
            update={"override": session.data.override.model_copy(update={"reason": f"{RLO}dose agreed\x1b"})}  # type: ignore[union-attr]
        )
        records.update(
            db, row_cls=InjectionSessionRow, record_id=session.id, data=data, actor=ACTOR, reason="x"
        )
        event = report_adverse_event(
            db=db,
            actor=ACTOR,
            data=AdverseEventCreate(
                patient_id=site.world.patient_id,
                session_id=session.id,
                event="neck weakness",
                onset_date=DAY,
                reported_date=DAY,
                severity="mild",
            ),
        )
        records.update(
            db,
            row_cls=AdverseEventRow,
            record_id=event.id,
            data=event.data.model_copy(update={"event": f"{RLO}dysphagia", "outcome": "better\x00"}),
            actor=ACTOR,
            reason="x",
        )
    return other.id, session.id


def test_stored_bidi_and_control_characters__every_page_shows_them_isolated(site: Site) -> None:
    other, session_id = _poisoned(site)
    client = TestClient(
        site.client.app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False
    )
    site = replace(site, client=client)
    assert log_in(site, "physician") == 303
    chart = site.client.get(f"/patients/{site.world.patient_id}")
    assert chart.status_code == 200
    # each entered value isolated: the override, the event, its outcome
    assert f"Override: <bdi>{RLO}dose agreed\x1b</bdi> (blocks acknowledged: " in chart.text
    assert f"<bdi>{RLO}dysphagia</bdi> (mild) · status not recorded: <bdi>better\x00</bdi>" in chart.text
    timeline = chart.text.split('id="timeline"')[1]
    for row in re.findall(r"<li[^>]*>(.*?)</li>", timeline, re.DOTALL):
        for found in re.finditer(RLO, row):  # no U+202E outside an isolate
            before = row[: found.start()]
            assert before.count("<bdi>") > before.count("</bdi>"), row
    other_chart = site.client.get(f"/patients/{other}")
    assert other_chart.status_code == 200
    assert f"<bdi>Ann {RLO}Lee\x00\x07</bdi>" in other_chart.text
    assert f"Record <bdi>P{RLO}-77</bdi>" in other_chart.text
    listed = site.client.get("/patients?q=Ann").text  # a link isolates what it shows (dir="auto")
    assert f'dir="auto">Ann {RLO}Lee\x00\x07</a>' in listed
    for path in (
        "/",
        "/patients",
        "/patients?q=Ann",
        "/worklist",
        f"/patients/{other}/records/patient/{other}/history",
        f"/patients/{site.world.patient_id}/records/injection_session/{session_id}/history",
        f"/patients/{other}/sessions/new",
        "/stock/recall?lot=C1234",
    ):
        response = site.client.get(path)
        assert response.status_code == 200, path
    history = site.client.get(
        f"/patients/{site.world.patient_id}/records/injection_session/{session_id}/history"
    )
    assert "<bdi>" in history.text
    site.client.cookies.clear()
    headers = site.bearer("physician")
    for path in (
        f"/api/patients/{other}",
        f"/api/patients/{site.world.patient_id}/chart",
        f"/api/sessions/{session_id}",
    ):
        response = site.client.get(path, headers=headers)
        assert response.status_code == 200, path
    assert (
        site.client.get(f"/api/patients/{other}", headers=headers).json()["data"]["name"]
        == f"Ann {RLO}Lee\x00\x07"
    )


def test_nul__no_server_error_on_either_engine(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    client = TestClient(
        site.client.app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False
    )
    site = replace(site, client=client)
    headers = site.bearer("physician")
    created = site.client.post("/api/patients", json=_body("P\x00", "Ann"), headers=headers)
    assert created.status_code == 422 and created.json()["errors"][0]["field"] == "record_number"
    token = site.client.post("/api/auth/token", data={"username": "a\x00b@x.org", "password": "x" * 12})
    assert token.status_code in (400, 401), token.text
    assert site.client.get("/api/patients?q=a%00b", headers=headers).status_code in (200, 400)
    assert log_in(site, "physician") == 303
    page = site.client.get("/patients/a%00b", headers={"accept": "text/html"})
    assert page.status_code in (400, 404), page.text
    assert "Something went wrong" not in page.text
