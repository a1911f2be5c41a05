"""No free text, lot number or exact date reaches a researcher: a marker is planted in every
free-text field of every record kind, and no researcher output (FHIR search, read, $everything,
Bulk $export, /api/research, the report as JSON and as a page) may hold one."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from bontrack.assessments.schemas import AssessmentCreate
from bontrack.assessments.service import create_assessment
from bontrack.fhir.sources import PATIENT_TYPES
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicianCreate, EpisodeCreate
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate
from bontrack.therapy.service import create_plan, record_visit
from factories import ACTOR, DAY, saved_session
from fhir_facade.fhir_support import all_entries, check_resource
from fhir_facade.test_bulk_export import kick_off, lines, manifest
from web.conftest import Site, log_in

MARK = "QUIX"  # every planted text holds it; nothing else in the registry does
AFTER_FIRST_PLAN = DAY + dt.timedelta(weeks=6)  # the day after the world's 6-week therapy plan


def _plant(site: Site) -> None:
    world = site.world
    with transaction(site.engine) as db:
        therapist = patients.create_clinician(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=ClinicianCreate(name="Dr QUIXDOC Lane", role="physiotherapist", registration="QUIXREG-9"),
        )
        episode = patients.create_episode(
            db=db,
            actor=ACTOR,
            data=EpisodeCreate.model_validate(
                {
                    "patient_id": world.patient_id,
                    "diagnosis_codes": [{"code": "M54.2", "label": "QUIXLABEL neck pain at Quix Lane"}],
                    "pain_onset_date": dt.date(2025, 2, 1),
                    "conservative_care": ["QUIXCARE swimming"],
                    "conservative_care_weeks": 8,
                }
            ),
        )
        session = saved_session(db, world, lot="QUIXLOT1", vial_id="QUIXVIAL")
        report_adverse_event(
            db=db,
            actor=ACTOR,
            data=AdverseEventCreate(
                patient_id=world.patient_id,
                session_id=session.id,
                event="QUIXAE fell at Quix Lane home",
                onset_date=DAY,
                reported_date=DAY,
                severity="mild",
                outcome="QUIXOUTCOME resolved",
            ),
        )
        plan = create_plan(
            db=db,
            actor=ACTOR,
            data=TherapyPlanCreate(
                patient_id=world.patient_id,
                episode_id=episode.id,
                therapist_id=therapist.id,
                start_date=AFTER_FIRST_PLAN,  # (one plan covers a day: the world's runs 6 weeks)
                weeks=4,
                visits_per_week=1,
                goals=["QUIXGOAL walk the dog"],
                exercises=["QUIXEX stretches"],
            ),
        )
        record_visit(
            db=db,
            actor=ACTOR,
            data=TherapyVisitCreate(
                patient_id=world.patient_id,
                plan_id=plan.id,
                date=AFTER_FIRST_PLAN,
                therapist_id=therapist.id,
                notes="QUIXVISIT talked about her son",
            ),
        )
        create_assessment(
            db=db,
            actor=ACTOR,
            data=AssessmentCreate.model_validate(
                {
                    "patient_id": world.patient_id,
                    "episode_id": episode.id,
                    "date": DAY,
                    "assessor_id": world.clinician_id,
                    "pressure_pain_thresholds": [
                        {
                            "muscle": "levator_scapulae",
                            "side": "left",
                            "value": 200,
                            "unit": "kPa",
                            "device": "QUIXDEVICE",
                        }
                    ],
                    "guidance_notes": "QUIXGUIDE ultrasound",
                }
            ),
        )
    # the adverse event's session is old enough for the report's adverse-event section
    site.clock.advance(days=60)


def _no_marker(what: str, text: str) -> None:
    assert MARK not in text and MARK.lower() not in text.lower(), f"free text in {what}: {text[:300]}"


def test_no_researcher_output_holds_free_text_or_lot_numbers(fhir_site: Site) -> None:
    _plant(fhir_site)
    seen = json.dumps(
        [e["resource"] for e in all_entries(fhir_site, "admin", "/fhir/AdverseEvent?_count=500")]
    )
    assert "QUIXAE" in seen  # planted, and shown to a clinician
    outputs: dict[str, Any] = {}
    for resource_type in ("Patient", *PATIENT_TYPES, "Practitioner"):
        found = [
            e["resource"] for e in all_entries(fhir_site, "researcher", f"/fhir/{resource_type}?_count=500")
        ]
        for resource in found:
            check_resource(resource)
        outputs[f"search {resource_type}"] = found
    for patient in outputs["search Patient"]:
        path = f"/fhir/Patient/{patient['id']}/$everything?_count=500"
        bundle = fhir_site.client.get(path, headers=fhir_site.bearer("researcher"))
        assert bundle.status_code == 200, bundle.text
        check_resource(bundle.json())
        outputs[path] = bundle.json()
    found = manifest(fhir_site, "researcher", kick_off(fhir_site, "researcher"))
    for output in found["output"]:
        outputs[f"export {output['type']}"] = lines(fhir_site, "researcher", output["url"])
    for path in ("/api/research/patients?limit=500", "/api/report"):
        response = fhir_site.client.get(path, headers=fhir_site.bearer("researcher"))
        assert response.status_code == 200, (path, response.text[:300])
        outputs[path] = response.text
    log_in(fhir_site, "researcher")
    page = fhir_site.client.get("/report")
    assert page.status_code == 200, page.text[:300]
    outputs["/report"] = page.text
    for what, value in outputs.items():
        text = value if isinstance(value, str) else json.dumps(value)
        _no_marker(what, text)
        assert "lotNumber" not in text, what
    summary = json.loads(outputs["/api/report"])["summary"]
    assert re.fullmatch(r"\d{4}", summary["first_session"]) and re.fullmatch(
        r"\d{4}", summary["last_session"]
    )
    events = {row["event"] for row in json.loads(outputs["/api/report"])["adverse_events"]}
    assert "other (described in words)" in events
    # a clinician's report keeps the exact dates and the words
    clinician = fhir_site.client.get("/api/report", headers=fhir_site.bearer("physician")).json()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", clinician["summary"]["first_session"])


def test_coded_values_stay(fhir_site: Site) -> None:
    _plant(fhir_site)
    events = [e["resource"] for e in all_entries(fhir_site, "researcher", "/fhir/AdverseEvent?_count=500")]
    assert events and all(e["severity"]["coding"][0]["code"] for e in events)
    conditions = [e["resource"] for e in all_entries(fhir_site, "researcher", "/fhir/Condition?_count=500")]
    assert {"M54.2", "M79.12"} <= {c["code"] for x in conditions for c in x["code"]["coding"]}
    plans = [e["resource"] for e in all_entries(fhir_site, "researcher", "/fhir/CarePlan?_count=500")]
    assert all("description" not in a.get("detail", {}) for p in plans for a in p["activity"])
