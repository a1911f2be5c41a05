"""The REST API: roles, de-identification, decisions, problem documents, pagination, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.injections.models import InjectionSessionRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, email, log_in


def _session_body(site: Site, **extra: Any) -> dict[str, Any]:
    return session_input(site.world, **extra).model_dump(mode="json", exclude_none=True)


def _sessions_saved(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(InjectionSessionRow)) or 0)


def _audit(site: Site, **equal: Any) -> list[AuditEntry]:
    with transaction(site.engine) as db:
        query = select(AuditEntry).filter_by(**equal).order_by(AuditEntry.seq)
        return list(db.scalars(query))


def _new_patient(site: Site, number: str, role: str = "staff") -> dict[str, Any]:
    body = {"record_number": number, "name": f"Patient {number}", "birth_date": "1970-06-15", "sex": "female"}
    response = site.client.post("/api/patients", json=body, headers=site.bearer(role))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_sessions__physical_therapist_cannot_record_an_injection(site: Site) -> None:
    response = site.client.post(
        "/api/sessions", json=_session_body(site), headers=site.bearer("physical_therapist")
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "physician" in response.json()["detail"]
    assert _sessions_saved(site) == 0


def test_sessions__physician_records_one_with_the_engines_decision(site: Site) -> None:
    response = site.client.post("/api/sessions", json=_session_body(site), headers=site.bearer("physician"))
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["data"]["decision"]["decision"] in ("allow", "warn")
    assert saved["recorded_by"] == f"user:{email('physician')}"
    again = site.client.get(f"/api/sessions/{saved['id']}", headers=site.bearer("staff"))
    assert again.json()["data"]["decision"] == saved["data"]["decision"]


def test_sessions_check__returns_the_decision_and_saves_nothing(site: Site) -> None:
    response = site.client.post(
        "/api/sessions/check", json=_session_body(site, units=400), headers=site.bearer("physician")
    )
    assert response.status_code == 200, response.text
    decision = response.json()["decision"]
    assert decision["decision"] == "block"
    assert decision["findings"]
    assert _sessions_saved(site) == 0


BLOCKS_400_U = ["dose.exceeds_vials", "dose.session_max"]  # 2 x 400 U from one 100 U vial


def test_sessions__blocked_plan_needs_an_override_with_a_reason(site: Site) -> None:
    blocked = _session_body(site, units=400)
    refused = site.client.post("/api/sessions", json=blocked, headers=site.bearer("physician"))
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "override"
    no_reason = blocked | {"override": {"reason": " ", "acknowledged": BLOCKS_400_U}}
    invalid = site.client.post("/api/sessions", json=no_reason, headers=site.bearer("physician"))
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "override.reason"
    assert _sessions_saved(site) == 0
    reason = "patient informed; dose agreed with the clinic lead"
    overridden = blocked | {"override": {"reason": reason, "acknowledged": BLOCKS_400_U}}
    saved = site.client.post("/api/sessions", json=overridden, headers=site.bearer("physician"))
    assert saved.status_code == 201, saved.text
    assert saved.json()["data"]["override"]["acknowledged"] == BLOCKS_400_U
    (entry,) = _audit(site, action="override", record_id=saved.json()["id"])
    assert entry.actor == f"user:{email('physician')}" and entry.detail == reason
    assert entry.after is not None and entry.after["acknowledged"] == BLOCKS_400_U


def test_sessions__a_one_character_reason_and_one_override_for_every_block_are_refused(site: Site) -> None:
    """The QA pass: override.reason "x" cleared every block at once."""
    blocked = _session_body(site, units=400)
    one_for_all = blocked | {"override": {"reason": "x"}}
    refused = site.client.post("/api/sessions", json=one_for_all, headers=site.bearer("physician"))
    assert refused.status_code == 409, refused.text
    errors = [(e["field"], e["message"]) for e in refused.json()["errors"]]
    assert errors[0] == (
        "override.reason",
        "Write why going ahead outweighs the blocks in a few words of your own: at least 3 different "
        "words with 15 letters between them (a word written again counts once; numbers, punctuation and "
        "one letter repeated do not count); written: 0 different words, 0 letters",
    )
    # one error per block not acknowledged, each naming it: its code and its words
    assert [f for f, _ in errors[1:]] == ["override.acknowledged"] * 2
    assert errors[1][1].startswith(
        "must list the code of every block: dose.exceeds_vials is not acknowledged ("
    )
    assert "dose.session_max is not acknowledged (" in errors[2][1]
    half = blocked | {
        "override": {"reason": "dose agreed with the clinic lead", "acknowledged": BLOCKS_400_U[:1]}
    }
    refused = site.client.post("/api/sessions", json=half, headers=site.bearer("physician"))
    assert refused.status_code == 409
    ((field, message),) = [(e["field"], e["message"]) for e in refused.json()["errors"]]
    assert field == "override.acknowledged" and "dose.session_max is not acknowledged" in message
    assert _sessions_saved(site) == 0


@pytest.mark.parametrize(
    "reason", ["aaaaaaaaaaaaaaa", "override override override", "...............", "123456789012345"]
)
def test_sessions__a_reason_that_fills_the_length_without_words_is_refused(site: Site, reason: str) -> None:
    """Filler passed the 15 characters: the reason now needs 3 different words (pathway.toml)."""
    blocked = _session_body(site, units=400)
    filler = blocked | {"override": {"reason": reason, "acknowledged": BLOCKS_400_U}}
    refused = site.client.post("/api/sessions", json=filler, headers=site.bearer("physician"))
    assert refused.status_code == 409, refused.text
    ((field, message),) = [(e["field"], e["message"]) for e in refused.json()["errors"]]
    assert field == "override.reason"
    assert message.startswith("Write why going ahead outweighs the blocks in a few words of your own")
    assert _sessions_saved(site) == 0


def test_research__researcher_cannot_read_identified_patients(site: Site) -> None:
    for path in ("/api/patients", f"/api/patients/{site.world.patient_id}", "/api/worklist"):
        assert site.client.get(path, headers=site.bearer("researcher")).status_code == 403, path


def test_research__researcher_sees_pseudonym_and_age_band_only(site: Site) -> None:
    site.client.post("/api/sessions", json=_session_body(site), headers=site.bearer("physician"))
    response = site.client.get("/api/research/patients", headers=site.bearer("researcher"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 1
    (patient,) = page["items"]
    assert patient["pseudonym"].startswith("R-") and site.world.patient_id not in response.text
    assert patient["age_band"] == "40-49"  # born 1978-05-04, on 2026-03-02
    assert patient["sessions"][0]["day"] == (dt.date(2026, 3, 2) - dt.date(2025, 1, 10)).days
    for identifying in (
        "Test Patient",
        "P-001",
        "1978-05-04",
        "2026-03-02",
        "name",
        "birth_date",
        "record_number",
    ):
        assert identifying not in response.text, identifying


def test_research__pseudonym_is_stable(site: Site) -> None:
    first = site.client.get("/api/research/patients", headers=site.bearer("researcher")).json()
    second = site.client.get("/api/research/patients", headers=site.bearer("admin")).json()
    assert first["items"][0]["pseudonym"] == second["items"][0]["pseudonym"]


def test_problems__bad_body_is_422_naming_the_field(site: Site) -> None:
    body = {"record_number": "P-9", "name": "X", "birth_date": "not-a-date", "sex": "female", "extra": 1}
    response = site.client.post("/api/patients", json=body, headers=site.bearer("staff"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"birth_date", "extra"}
    assert problem["status"] == 422 and "birth_date" in problem["detail"]


def test_problems__service_input_error_is_400_naming_the_field(site: Site) -> None:
    body = {"patient_id": site.world.patient_id, "date": "2026-03-01", "allergies": ["unicorn dust"]}
    response = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "allergies[0]"


def test_screening__an_allergy_is_kept_as_written_when_it_names_one_the_check_knows(site: Site) -> None:
    """The API reads an allergy as the check does (knowledge.screening_names): "Botox (hives)" and
    the label's "Albumin (Human)" are accepted as written; one naming none is still a 400."""
    written = ["Botox (hives)", "Albumin (Human)", "HSA", "cows_milk_protein"]
    body = {"patient_id": site.world.patient_id, "date": "2026-03-01", "allergies": written}
    saved = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert saved.status_code == 201, saved.text
    assert saved.json()["data"]["allergies"] == written
    body["allergies"] = ["Botox (hives)", "penicillin (rash)"]
    refused = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (
        error["field"] == "allergies[1]"
        and "'penicillin (rash)' names none of the allergies" in error["message"]
    )
    # the screening form keeps an entry as written: a correction does not drop it unseen
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/records/screening/{saved.json()['id']}/correct"
    form = site.client.get(path).text
    assert '<input type="checkbox" name="allergies" value="Botox (hives)" checked> Botox (hives)' in form
    assert 'value="cows_milk_protein" checked' in form


def test_screening__a_plant_milk_is_not_cow_milk_protein_and_the_refusal_says_why(site: Site) -> None:
    """Before: "coconut milk" was kept as a cow's milk protein allergy (it blocked DYSPORT)."""
    body = {"patient_id": site.world.patient_id, "date": "2026-03-01", "allergies": ["coconut milk"]}
    refused = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert refused.status_code == 400, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "allergies[0]"
    assert error["message"].startswith(
        "'coconut milk' names none of the allergies screening asks about (coconut milk: a plant milk, "
        "pressed from coconut flesh; no cow's milk protein); allowed:"
    )
    body["allergies"] = ["milk thistle, cow's milk"]  # both: kept, as written
    saved = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert saved.status_code == 201, saved.text
    assert saved.json()["data"]["allergies"] == ["milk thistle, cow's milk"]


def test_problems__unknown_record_is_404_naming_the_field(site: Site) -> None:
    response = site.client.get("/api/patients/0000-no-such", headers=site.bearer("staff"))
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "patient_id"


def test_problems__bad_query_and_unknown_route(site: Site) -> None:
    bad = site.client.get("/api/patients?limit=0", headers=site.bearer("staff"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"
    missing = site.client.get("/api/nothing-here", headers=site.bearer("staff"))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_problems__invalid_json_is_422(site: Site) -> None:
    response = site.client.post(
        "/api/patients",
        content=b"{not json",
        headers={**site.bearer("staff"), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_pagination__limit_offset_and_total(site: Site) -> None:
    numbers = [f"P-1{i:02d}" for i in range(5)]
    for number in numbers:
        _new_patient(site, number)
    pages = [
        site.client.get(f"/api/patients?limit=2&offset={offset}", headers=site.bearer("staff")).json()
        for offset in (0, 2, 4)
    ]
    assert [p["total"] for p in pages] == [6, 6, 6]
    assert [len(p["items"]) for p in pages] == [2, 2, 2]
    seen = [item["data"]["record_number"] for p in pages for item in p["items"]]
    assert seen == ["P-001", *numbers]
    beyond = site.client.get("/api/patients?limit=2&offset=10", headers=site.bearer("staff")).json()
    assert beyond["items"] == [] and beyond["total"] == 6


def test_audit__api_read_and_write_leave_entries_with_the_user(site: Site) -> None:
    created = _new_patient(site, "P-200")
    site.client.get(f"/api/patients/{created['id']}", headers=site.bearer("physician"))
    entries = _audit(site, record_id=created["id"])
    assert [(e.action, e.actor) for e in entries] == [
        ("create", f"user:{email('staff')}"),
        ("read", f"user:{email('physician')}"),
    ]


def test_audit__chart_read_audits_every_record_shown(site: Site) -> None:
    response = site.client.get(
        f"/api/patients/{site.world.patient_id}/chart", headers=site.bearer("physician")
    )
    assert response.status_code == 200
    chart = response.json()
    shown = {chart["patient"]["id"]} | {
        r["id"] for key, value in chart.items() if isinstance(value, list) for r in value
    }
    read = {e.record_id for e in _audit(site, action="read", actor=f"user:{email('physician')}")}
    assert shown <= read


def test_audit__admin_only_and_reading_it_is_audited(site: Site) -> None:
    assert site.client.get("/api/audit", headers=site.bearer("physician")).status_code == 403
    response = site.client.get("/api/audit?limit=5", headers=site.bearer("admin"))
    assert response.status_code == 200
    page = response.json()
    assert len(page["items"]) == 5 and page["total"] > 5
    assert _audit(site, record_type="audit_log", actor=f"user:{email('admin')}")


def test_clinics__a_user_of_another_clinic_does_not_see_the_patient(site: Site) -> None:
    from bontrack.auth.schemas import UserCreate
    from bontrack.auth.service import create_user
    from bontrack.patients.schemas import ClinicCreate
    from bontrack.patients.service import create_clinic

    with transaction(site.engine) as db:
        other = create_clinic(db=db, actor="test", data=ClinicCreate(name="Elsewhere"))
        data = UserCreate(
            email="doc@elsewhere.org",
            role="physician",
            password="distant-otter-ledger-31",
            clinic_id=other.id,
        )
        create_user(db=db, actor="test", data=data, now=site.clock())
    token = site.client.post(
        "/api/auth/token", data={"username": "doc@elsewhere.org", "password": "distant-otter-ledger-31"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert site.client.get(f"/api/patients/{site.world.patient_id}", headers=headers).status_code == 404
    assert site.client.get("/api/patients", headers=headers).json()["total"] == 0
    assert site.client.post("/api/sessions", json=_session_body(site), headers=headers).status_code == 404


def test_worklist__paged_items_for_the_users_clinic(site: Site) -> None:
    site.client.post("/api/sessions", json=_session_body(site), headers=site.bearer("physician"))
    response = site.client.get("/api/worklist?date=2026-05-01&days=30&limit=1", headers=site.bearer("staff"))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] >= 2 and len(page["items"]) == 1
    assert page["items"][0]["status"] == "overdue"


def test_outcomes__recorded_and_scored(site: Site) -> None:
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-03-01",
        "answers": {"1": 6},
    }
    response = site.client.post("/api/outcomes", json=body, headers=site.bearer("physical_therapist"))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["scoring"]["scores"]
    bad = site.client.post("/api/outcomes", json=body | {"answers": {"1": 11}}, headers=site.bearer("staff"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("answers")


def test_outcomes__no_answer_given_is_refused_naming_the_answers(site: Site) -> None:
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-03-01",
        "answers": {"1": None},
    }
    ndi_blank = {str(n): None for n in range(1, 11)}
    for answers, instrument in (({"1": None}, "nprs"), (ndi_blank, "ndi"), ({"1": ""}, "nprs")):
        response = site.client.post(
            "/api/outcomes",
            json=body | {"instrument": instrument, "answers": answers},
            headers=site.bearer("staff"),
        )
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == "answers"
        assert error["text"].startswith("The answers must have at least one entry that is answered")
    chart = site.client.get(f"/api/patients/{site.world.patient_id}/chart", headers=site.bearer("staff"))
    assert chart.json()["outcomes"] == []
    link = site.client.post(
        "/api/patient-links",
        json={
            "patient_id": site.world.patient_id,
            "episode_id": site.world.episode_id,
            "instruments": ["nprs"],
        },
        headers=site.bearer("staff"),
    ).json()
    sent = site.client.post(
        f"/api/patient-link/{link['token']}/outcomes",
        json={"forms": [{"instrument": "nprs", "answers": {"1": None}}]},
    )
    # the patient is told in their words (test_patient_link: the link stays usable)
    assert sent.status_code == 400 and sent.json()["errors"][0]["field"] == "forms[0].answers"
    said = "Question 1 of the Numeric Pain Rating Scale is not answered yet."  # the patient's words
    assert sent.json()["errors"][0]["message"] == said


def test_patients__record_number_in_another_case_is_refused_on_the_api_and_the_form(site: Site) -> None:
    from web.conftest import log_in
    from web.test_pages import post_form

    body = {"record_number": "p-001", "name": "Other Patient", "birth_date": "1970-06-15", "sex": "female"}
    response = site.client.post("/api/patients", json=body, headers=site.bearer("staff"))
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "record_number" and "'P-001'" in error["message"]
    listed = site.client.get("/api/patients", headers=site.bearer("staff")).json()
    assert listed["total"] == 1
    log_in(site, "staff")
    status, html = post_form(site, "/patients/new", body)
    assert status == 400
    assert "Record number: &#39;p-001&#39; is already used by another patient of this clinic" in html
