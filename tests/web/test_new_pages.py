"""The pages that complete the pathway in the browser: new patient, new episode, adverse event,
and pressure-pain thresholds on the assessment form. Through TestClient on a real database."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bontrack.assessments.models import AssessmentRow
from bontrack.assessments.service import assessments_of_patient
from bontrack.audit.models import AuditEntry
from bontrack.injections.models import AdverseEventRow
from bontrack.injections.service import adverse_events_of_patient
from bontrack.knowledge import load_knowledge
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.patients.schemas import DiagnosisCode
from bontrack.patients.service import episodes_of_patient, get_patient
from bontrack.schemas import parse
from bontrack.storage.engine import transaction
from bontrack.web.views.intake import CONSERVATIVE_CARE, DIAGNOSES
from factories import saved_session
from web.conftest import Site, csrf_from, email, log_in
from web.test_pages import count, post_form


def audit_after(site: Site, seq: int, record_type: str, action: str = "create") -> list[AuditEntry]:
    with transaction(site.engine) as db:
        return list(
            db.scalars(
                select(AuditEntry).where(
                    AuditEntry.seq > seq, AuditEntry.record_type == record_type, AuditEntry.action == action
                )
            )
        )


def last_seq(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.max(AuditEntry.seq))) or 0)


def with_session(site: Site) -> str:
    """An injection session on the factory patient's first day; its id."""
    with transaction(site.engine) as db:
        return saved_session(db, site.world).id


# ---- new patient -----------------------------------------------------------------------------

PATIENT = {"record_number": "P-777", "name": "Mara Quist", "birth_date": "1969-11-23", "sex": "female"}


def test_new_patient__registers_at_the_users_clinic_and_opens_the_chart(site: Site) -> None:
    log_in(site, "staff")
    assert 'href="/patients/new"' in site.client.get("/patients").text
    seq = last_seq(site)
    token = csrf_from(site.client.get("/patients/new").text)
    response = site.client.post("/patients/new", data=PATIENT | {"csrf_token": token})
    assert response.status_code == 303
    found = re.fullmatch(r"/patients/([0-9a-f-]{36})\?saved=patient", response.headers["location"])
    assert found, response.headers["location"]
    with transaction(site.engine) as db:
        patient = get_patient(db=db, actor="test", patient_id=found.group(1))
    assert patient.clinic_id == site.world.clinic_id
    assert patient.data.name == "Mara Quist" and str(patient.data.birth_date) == "1969-11-23"
    [entry] = audit_after(site, seq, "patient")
    assert entry.actor == f"user:{email('staff')}" and entry.record_id == patient.id
    chart = site.client.get(response.headers["location"])
    assert chart.status_code == 200 and "Mara Quist" in chart.text and 'id="no-episode"' in chart.text


def test_new_patient__bad_fields_inline_and_nothing_written(site: Site) -> None:
    log_in(site, "physician")
    before = count(site, PatientRow)
    bad = PATIENT | {"record_number": "P-001", "birth_date": "1969-02-30", "name": " ", "sex": "robot"}
    status, html = post_form(site, "/patients/new", bad)
    assert status == 400
    for field in ("birth_date", "name", "sex"):
        assert f'class="field-error" id="err-{field}"' in html, field
    assert 'value="P-001"' in html  # what was typed is kept
    assert count(site, PatientRow) == before
    # the record number is checked once the fields are valid: already used in this clinic
    status, html = post_form(site, "/patients/new", PATIENT | {"record_number": "P-001"})
    assert status == 400 and 'id="err-record_number"' in html and "already used" in html
    assert count(site, PatientRow) == before


def test_new_patient__researcher_and_admin_refused(site: Site) -> None:
    for role in ("researcher", "admin"):
        site.client.cookies.clear()
        log_in(site, role)
        page = site.client.get("/patients/new")
        assert page.status_code == 403, role
        assert 'href="/patients/new"' not in site.client.get("/patients").text
        # a forged post with this user's own token is refused too
        token = csrf_from(site.client.get("/").text)  # the log-out form's
        response = site.client.post("/patients/new", data=PATIENT | {"csrf_token": token})
        assert response.status_code == 403, role
    assert count(site, PatientRow) == 1


def test_new_patient__without_csrf_token_refused(site: Site) -> None:
    log_in(site, "staff")
    response = site.client.post("/patients/new", data=PATIENT | {"csrf_token": "forged"})
    assert response.status_code == 403 and "Form expired" in response.text
    assert count(site, PatientRow) == 1


# ---- new episode -----------------------------------------------------------------------------


def episode_path(site: Site) -> str:
    return f"/patients/{site.world.patient_id}/episodes/new"


def test_episode__pick_list_codes_are_valid_icd10cm_and_distinct() -> None:
    codes = [parse(DiagnosisCode, {"code": code, "label": label}).code for code, label in DIAGNOSES]
    assert codes == [code for code, _label in DIAGNOSES]  # already in canonical form
    assert len(set(codes)) == len(codes) and len(set(CONSERVATIVE_CARE)) == len(CONSERVATIVE_CARE)


def test_episode__form_shows_the_pathway_thresholds_from_the_knowledge_base(site: Site) -> None:
    log_in(site, "physical_therapist")
    html = site.client.get(episode_path(site)).text
    kb = load_knowledge()
    path = kb.files.pathway
    for fact in (path.chronic_pain_min_weeks, path.conservative_care_min_weeks):
        assert f"at least {fact.value:g} weeks" in html
        assert kb.files.sources[fact.source].title.replace("'", "&#39;") in html
    assert "ICD-10-CM" in html
    for code, _label in DIAGNOSES:
        assert f'value="{code}"' in html


def test_episode__ticked_and_typed_codes_and_care_are_saved_and_audited(site: Site) -> None:
    log_in(site, "physician")
    seq = last_seq(site)
    fields = {
        "diagnosis_codes": ["M54.2", "M62.838"],
        "diagnosis_other": "m79.12, M54.2\n",  # typed lower case; M54.2 also ticked: once
        "pain_onset_date": "2025-06-01",
        "conservative_care": ["NSAIDs", "Heat"],
        "conservative_care_other": "Acupuncture\n\n",
        "conservative_care_weeks": "8",
    }
    token = csrf_from(site.client.get(episode_path(site)).text)
    response = site.client.post(episode_path(site), data=fields | {"csrf_token": token})
    assert response.status_code == 303, response.text
    with transaction(site.engine) as db:
        episodes = episodes_of_patient(db=db, actor="test", patient_id=site.world.patient_id)
    new = next(e for e in episodes if e.id != site.world.episode_id)
    assert [d.code for d in new.data.diagnosis_codes] == ["M54.2", "M62.838", "M79.12"]
    assert new.data.diagnosis_codes[0].label == "Cervicalgia"
    assert new.data.conservative_care == ["NSAIDs", "Heat", "Acupuncture"]
    assert new.data.conservative_care_weeks == 8
    [entry] = audit_after(site, seq, "episode")
    assert entry.actor == f"user:{email('physician')}" and entry.record_id == new.id
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "M54.2, M62.838, M79.12" in chart


def test_episode__bad_code_and_missing_weeks_inline_nothing_written(site: Site) -> None:
    log_in(site, "physician")
    before = count(site, EpisodeRow)
    fields = {
        "diagnosis_codes": "M54.2",
        "diagnosis_other": "neck pain",
        "pain_onset_date": "2025-06-01",
        "conservative_care_weeks": "",
    }
    status, html = post_form(site, episode_path(site), fields)
    assert status == 400
    assert 'id="err-diagnosis_other"' in html and "is not an ICD-10-CM code" in html
    assert 'id="err-conservative_care_weeks"' in html and "is required" in html
    assert "neck pain" in html  # the typed text is shown again
    assert count(site, EpisodeRow) == before


def test_episode__no_code_and_onset_before_birth(site: Site) -> None:
    log_in(site, "physical_therapist")
    before = count(site, EpisodeRow)
    status, html = post_form(
        site, episode_path(site), {"pain_onset_date": "2025-06-01", "conservative_care_weeks": "6"}
    )
    assert status == 400
    assert 'id="err-diagnosis_codes"' in html
    assert "Diagnosis needs at least one ICD-10-CM code: tick one or type it." in html
    status, html = post_form(
        site,
        episode_path(site),
        {"diagnosis_codes": "M54.2", "pain_onset_date": "1950-01-01", "conservative_care_weeks": "6"},
    )
    assert status == 400 and 'id="err-pain_onset_date"' in html and "birth date" in html
    assert count(site, EpisodeRow) == before


def test_episode__staff_refused_and_csrf_checked(site: Site) -> None:
    fields = {"diagnosis_codes": "M54.2", "pain_onset_date": "2025-06-01", "conservative_care_weeks": "6"}
    log_in(site, "staff")  # the API lets physicians and physical therapists open episodes
    assert site.client.get(episode_path(site)).status_code == 403
    token = csrf_from(site.client.get(f"/patients/{site.world.patient_id}/screenings/new").text)
    assert site.client.post(episode_path(site), data=fields | {"csrf_token": token}).status_code == 403
    site.client.cookies.clear()
    log_in(site, "physician")
    response = site.client.post(episode_path(site), data=fields | {"csrf_token": "forged"})
    assert response.status_code == 403
    assert count(site, EpisodeRow) == 1


# ---- adverse event ---------------------------------------------------------------------------


def ae_path(site: Site) -> str:
    return f"/patients/{site.world.patient_id}/adverse-events/new"


def ae_fields(session_id: str, **changes: str) -> dict[str, str]:
    return {
        "session_id": session_id,
        "event": "Dysphagia",
        "onset_date": "2026-03-05",
        "reported_date": "2026-03-06",
        "severity": "moderate",
        "serious": "yes",
        "outcome": "soft diet; resolved",
    } | changes


def test_adverse_event__form_offers_the_labels_reactions_and_the_chosen_session(site: Site) -> None:
    session_id = with_session(site)
    log_in(site, "physical_therapist")
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert f"/adverse-events/new?session={session_id}" in chart  # from the session on the timeline
    html = site.client.get(f"{ae_path(site)}?session={session_id}").text
    assert re.search(rf'<option value="{session_id}"\s+selected>', html)
    for reactions in load_knowledge().files.label_adverse_reactions.values():
        for term in reactions.percent:
            assert f'<option value="{term}"' in html


def test_adverse_event__saved_audited_and_on_the_chart(site: Site) -> None:
    session_id = with_session(site)
    log_in(site, "staff")
    seq = last_seq(site)
    status, _ = post_form(site, ae_path(site), ae_fields(session_id))
    assert status == 303
    with transaction(site.engine) as db:
        [event] = adverse_events_of_patient(db=db, actor="test", patient_id=site.world.patient_id)
    assert event.data.session_id == session_id and event.data.serious is True
    assert event.data.severity == "moderate" and event.data.event == "Dysphagia"
    [entry] = audit_after(site, seq, "adverse_event")
    assert entry.actor == f"user:{email('staff')}" and entry.record_id == event.id
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "Adverse event" in chart and "<bdi>Dysphagia</bdi> (moderate, serious)" in chart


def test_adverse_event__unchecked_serious_is_false(site: Site) -> None:
    session_id = with_session(site)
    log_in(site, "physician")
    fields = ae_fields(session_id)
    del fields["serious"]
    assert post_form(site, ae_path(site), fields)[0] == 303
    with transaction(site.engine) as db:
        [event] = adverse_events_of_patient(db=db, actor="test", patient_id=site.world.patient_id)
    assert event.data.serious is False


def test_adverse_event__bad_input_inline_and_nothing_written(site: Site) -> None:
    session_id = with_session(site)
    log_in(site, "physician")
    bad = ae_fields(session_id, onset_date="2026-02-01", severity="", event="")
    status, html = post_form(site, ae_path(site), bad)
    assert status == 400
    assert 'id="err-severity"' in html and 'id="err-event"' in html
    assert count(site, AdverseEventRow) == 0
    # once the fields are valid, the service compares the dates with the session's
    status, html = post_form(site, ae_path(site), ae_fields(session_id, onset_date="2026-02-01"))
    assert status == 400 and 'id="err-onset_date"' in html and "before the session date" in html
    status, html = post_form(site, ae_path(site), ae_fields("not-a-session"))
    assert status == 400 and 'id="err-session_id"' in html
    assert count(site, AdverseEventRow) == 0


def test_adverse_event__researcher_refused_and_csrf_checked(site: Site) -> None:
    session_id = with_session(site)
    log_in(site, "researcher")
    assert site.client.get(ae_path(site)).status_code == 403
    site.client.cookies.clear()
    log_in(site, "staff")
    response = site.client.post(ae_path(site), data=ae_fields(session_id) | {"csrf_token": "forged"})
    assert response.status_code == 403
    assert count(site, AdverseEventRow) == 0


# ---- pressure-pain thresholds on the assessment form -----------------------------------------


def assessment_fields(site: Site, **changes: str) -> dict[str, str]:
    return {
        "episode_id": site.world.episode_id,
        "date": "2026-03-02",
        "assessor_id": site.world.clinician_id,
        "tp.levator_scapulae.right.present": "on",
        "tp.levator_scapulae.right.taut_band": "on",
    } | changes


def ppt(row: int, muscle: str, side: str, value: str, unit: str, device: str) -> dict[str, str]:
    fields = {"muscle": muscle, "side": side, "value": value, "unit": unit, "device": device}
    return {f"pressure_pain_thresholds[{row}].{k}": v for k, v in fields.items()}


def test_assessment__pressure_pain_thresholds_saved_and_shown_on_the_chart(site: Site) -> None:
    log_in(site, "physical_therapist")
    path = f"/patients/{site.world.patient_id}/assessments/new"
    assert 'name="pressure_pain_thresholds[0].value"' in site.client.get(path).text
    # row 0 left blank, rows 1 and 2 filled: blank rows are skipped
    fields = assessment_fields(site) | ppt(1, "levator_scapulae", "right", "185.5", "kPa", "Wagner FPX 25")
    fields |= ppt(2, "upper_trapezius", "left", "2.4", "kg/cm2", "Baseline dolorimeter")
    status, _ = post_form(site, path, fields)
    assert status == 303
    with transaction(site.engine) as db:
        latest = assessments_of_patient(db=db, actor="test", patient_id=site.world.patient_id)[-1]
    got = [(p.muscle, p.side, p.value, p.unit, p.device) for p in latest.data.pressure_pain_thresholds]
    assert got == [
        ("levator_scapulae", "right", 185.5, "kPa", "Wagner FPX 25"),
        ("upper_trapezius", "left", 2.4, "kg/cm2", "Baseline dolorimeter"),
    ]
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "Pressure-pain thresholds: Levator scapulae (right) 185.5 kPa" in chart


def test_assessment__bad_threshold_shown_on_its_own_row_nothing_written(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/assessments/new"
    before = count(site, AssessmentRow)
    fields = assessment_fields(site) | ppt(2, "upper_trapezius", "left", "-3", "", "Wagner FPX 25")
    status, html = post_form(site, path, fields)
    assert status == 400
    # the error is on row 2, where it was typed, though rows 0 and 1 were blank
    assert 'id="err-pressure_pain_thresholds[2].value"' in html and "value must be more than 0." in html
    assert 'id="err-pressure_pain_thresholds[2].unit"' in html
    assert 'id="err-pressure_pain_thresholds[0].value"' not in html
    assert 'value="-3"' in html and "Wagner FPX 25" in html
    assert 'name="pressure_pain_thresholds[3].value"' in html  # spare rows below the last filled
    assert count(site, AssessmentRow) == before
