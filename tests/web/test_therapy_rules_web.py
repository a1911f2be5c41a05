"""Physical therapy's rules on the API and the pages (QA R13): a second plan over a current plan's
period is a 409 naming the plan, a second visit of a plan on one day a 409, a therapist whose role
does not deliver therapy a 400 naming ``therapist_id``, and a visit beyond the plan saved with a
warning in ``warnings`` and on the chart. Nothing is written on a refusal; the worklist lists one
row per plan's next visit."""

from __future__ import annotations

import datetime as dt

from httpx import Response

from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicianCreate
from bontrack.storage.engine import transaction
from bontrack.therapy.service import plans_of_patient, visits_of_plan
from factories import ACTOR, DAY
from web.conftest import Site, csrf_from, log_in

WEEK = dt.timedelta(days=7)


def _plan(site: Site, start: dt.date, **changes: object) -> dict[str, object]:
    w = site.world
    return {
        "patient_id": w.patient_id,
        "episode_id": w.episode_id,
        "therapist_id": w.clinician_id,
        "start_date": start.isoformat(),
        "weeks": 2,
        "visits_per_week": 1,
    } | changes


def _visit(site: Site, plan_id: str, day: dt.date) -> dict[str, object]:
    w = site.world
    return {
        "patient_id": w.patient_id,
        "plan_id": plan_id,
        "date": day.isoformat(),
        "therapist_id": w.clinician_id,
    }


def test_api__duplicate_plans_and_visits_are_refused_and_a_visit_beyond_the_plan_is_said(site: Site) -> None:
    site.clock.now = dt.datetime.combine(DAY + 12 * WEEK, dt.time(9))
    headers = site.bearer("physical_therapist")
    start = DAY + 8 * WEEK  # after the world's 6-week plan
    first = site.client.post("/api/therapy/plans", json=_plan(site, start), headers=headers)
    assert first.status_code == 201, first.text
    again = site.client.post("/api/therapy/plans", json=_plan(site, start), headers=headers)
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["errors"][0]["field"] == "start_date"
    assert f"therapy plan of {start}" in problem["errors"][0]["message"]
    plan_id = first.json()["id"]
    ok = site.client.post("/api/therapy/visits", json=_visit(site, plan_id, start), headers=headers)
    assert ok.status_code == 201 and ok.json()["warnings"] == []
    twice = site.client.post("/api/therapy/visits", json=_visit(site, plan_id, start), headers=headers)
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "date"
    site.client.post("/api/therapy/visits", json=_visit(site, plan_id, start + WEEK), headers=headers)
    third = site.client.post(
        "/api/therapy/visits", json=_visit(site, plan_id, start + 2 * WEEK), headers=headers
    )
    assert third.status_code == 201
    assert third.json()["warnings"][0].startswith("Visit 3 of a 2-visit plan")
    with transaction(site.engine) as db:
        assert len(plans_of_patient(db=db, actor=ACTOR, patient_id=site.world.patient_id)) == 2
        assert len(visits_of_plan(db=db, actor=ACTOR, plan_id=plan_id)) == 3
    listed = site.client.get("/api/worklist", params={"back": 0, "days": 365}, headers=headers).json()
    therapy = [i for i in listed["items"] if i["kind"] == "therapy_visit"]
    assert [i["plan_id"] for i in therapy] == [], "the world's plan is superseded, the new one complete"


def test_api__a_nurse_as_therapist_is_refused_naming_therapist_id(site: Site) -> None:
    with transaction(site.engine) as db:
        nurse = patients.create_clinician(
            db=db,
            actor=ACTOR,
            clinic_id=site.world.clinic_id,
            data=ClinicianCreate(name="Nurse Kim", role="nurse"),
        )
    headers = site.bearer("physician")
    refused = site.client.post(
        "/api/therapy/plans", json=_plan(site, DAY + 8 * WEEK, therapist_id=nurse.id), headers=headers
    )
    assert refused.status_code == 400, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "therapist_id" and "Nurse Kim is recorded as nurse" in error["message"]


def test_pages__a_visit_beyond_the_plan_shows_its_warning_and_a_duplicate_is_refused_in_words(
    site: Site,
) -> None:
    site.clock.now = dt.datetime.combine(DAY + 12 * WEEK, dt.time(9))
    log_in(site, "physician")
    w = site.world
    start = DAY + 8 * WEEK
    plan = site.client.post(
        "/api/therapy/plans", json=_plan(site, start, weeks=1), headers=site.bearer("physician")
    ).json()
    url = f"/patients/{w.patient_id}/therapy/visit"

    def post(day: dt.date) -> Response:
        form = site.client.get(url)
        fields = {
            "csrf_token": csrf_from(form.text),
            "plan_id": plan["id"],
            "date": day.isoformat(),
            "therapist_id": w.clinician_id,
            "attended": "yes",
            "notes": "",
        }
        return site.client.post(url, data=fields, follow_redirects=True)

    first = post(start)
    assert "Visit 1" not in first.text and "beyond" not in first.text
    second = post(start + dt.timedelta(days=3))
    assert "Visit 2 of a 1-visit plan" in second.text
    again = post(start)
    assert again.status_code == 409
    assert "already recorded" in again.text and "correct that visit" in again.text
