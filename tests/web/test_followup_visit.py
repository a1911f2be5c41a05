"""One follow-up visit on one form, clinician fields defaulting to the logged-in user, the phone
self-report (names the clinic, marked patient-reported, weeks from the dates), and the session
form's live check in plain words. Through the TestClient on a real SQLite registry."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from bontrack.knowledge import load_knowledge
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.service import outcomes_of_patient
from bontrack.storage.engine import transaction
from bontrack.web.views.followup_form import NOT_A_FOLLOW_UP
from factories import ACTOR, DAY, saved_session
from web.conftest import Site, csrf_from, log_in
from web.test_pages import count

SCHEDULE = load_knowledge().files.pathway.outcome_visit_weeks
NDI_ITEMS = 10


def _session(site: Site) -> str:
    with transaction(site.engine) as db:
        return saved_session(db, site.world, day=DAY).id


def _at(site: Site, day: dt.date) -> None:
    """Move the clock to a day and log in again (a new day, a new log-in)."""
    site.clock.now = dt.datetime.combine(day, dt.time(9))
    log_in(site, "physician")


def _ndi(code: int = 1, **changes: str) -> dict[str, str]:
    return {f"ndi.answers.{n}": str(code) for n in range(1, NDI_ITEMS + 1)} | changes


def test_visit_form__the_schedules_questionnaires_for_the_visit_the_dates_make(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=44))
    page = site.client.get(f"/patients/{site.world.patient_id}/visits/new").text
    summary = re.sub(r"<[^>]+>", "", re.search(r'id="visit-summary".*?</p>', page, re.DOTALL).group(0))
    assert "6 weeks and 2 days after the session of 2026-03-02: the 6-week visit" in summary
    due = [d for d in ("NPRS", "NDI", "RAND-36") if f"{d}," in summary or f"{d}." in summary]
    assert due == ["NPRS", "NDI"] == [i.upper() for i in SCHEDULE.due_at(6)]
    assert 'name="nprs.answers.1"' in page and 'name="ndi.answers.1"' in page
    assert "rand36.answers" not in page
    assert f'name="session_id" value="{sid}"' in page
    _at(site, DAY + dt.timedelta(weeks=12))
    late = site.client.get(f"/patients/{site.world.patient_id}/visits/new?session={sid}").text
    assert "the 12-week visit" in late and 'name="rand36.answers.1"' in late
    baseline = site.client.get(f"/patients/{site.world.patient_id}/visits/new?session={NOT_A_FOLLOW_UP}").text
    assert "follows up no injection session" in baseline and 'name="rand36.answers.1"' in baseline


def test_visit_form__saves_every_questionnaire_in_one_go_with_weeks_from_the_dates(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=44))
    path = f"/patients/{site.world.patient_id}/visits/new"
    token = csrf_from(site.client.get(path).text)
    fields = {
        "csrf_token": token,
        "session_id": sid,
        "date": str(DAY + dt.timedelta(days=44)),
        "episode_id": site.world.episode_id,
        "weeks_after_session": "99",  # not a field of this form: the weeks come from the dates
        "nprs.answers.1": "4",
    } | _ndi()
    response = site.client.post(path, data=fields)
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("?saved=follow_up_visit")
    with transaction(site.engine) as db:
        saved = outcomes_of_patient(db=db, actor=ACTOR, patient_id=site.world.patient_id)
    assert sorted(o.data.instrument for o in saved) == ["ndi", "nprs"]
    assert {(o.data.session_id, o.data.weeks_after_session) for o in saved} == {(sid, 6)}
    assert not any(o.data.patient_reported for o in saved)
    chart = site.client.get(response.headers["location"]).text
    assert "Saved: follow up visit." in chart and "patient-reported" not in chart


def test_visit_form__one_bad_answer_saves_nothing_and_says_so_in_words(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=42))
    path = f"/patients/{site.world.patient_id}/visits/new"
    before = count(site, OutcomeRow)
    token = csrf_from(site.client.get(path).text)
    fields = {"csrf_token": token, "session_id": sid, "date": str(DAY + dt.timedelta(days=42))}
    fields |= {"episode_id": site.world.episode_id, "nprs.answers.1": "4"} | _ndi(**{"ndi.answers.3": "7"})
    response = site.client.post(path, data=fields)
    assert response.status_code == 400
    assert count(site, OutcomeRow) == before  # the NPRS was not saved either
    assert "Question 3 of the Neck Disability Index" in response.text
    markup = r'(?:name|id|for|href|aria-\w+)="[^"]*"'
    assert "ndi.answers" not in re.sub(markup, "", response.text)
    assert re.search(r'name="nprs.answers.1" value="4"[^>]*checked', response.text)  # answers stay

    empty = site.client.post(
        path, data={"csrf_token": token, "session_id": sid, "episode_id": site.world.episode_id}
    )
    assert empty.status_code == 400 and "Answer at least one questionnaire before saving." in empty.text
    assert count(site, OutcomeRow) == before


def test_visit_form__a_date_before_the_session_is_refused(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=14))
    path = f"/patients/{site.world.patient_id}/visits/new"
    token = csrf_from(site.client.get(path).text)
    fields = {"csrf_token": token, "session_id": sid, "date": str(DAY - dt.timedelta(days=1))}
    response = site.client.post(
        path, data=fields | {"episode_id": site.world.episode_id, "nprs.answers.1": "3"}
    )
    assert response.status_code == 400
    assert "Visit date must be on or after the session date 2026-03-02." in response.text


def test_clinician_fields_default_to_the_logged_in_user(site: Site) -> None:
    log_in(site, "physician")  # the physician's account is linked to the world's clinician
    me = site.world.clinician_id
    for path, name in (
        ("assessments/new", "assessor_id"),
        ("therapy/visit", "therapist_id"),
        ("therapy/new", "therapist_id"),
    ):
        page = site.client.get(f"/patients/{site.world.patient_id}/{path}").text
        select = re.search(rf'<select id="f-{name}".*?</select>', page, re.DOTALL)
        assert select and f'<option value="{me}" selected>' in select.group(0), path
    site.client.cookies.clear()
    log_in(site, "physical_therapist")  # not linked to a clinician record: nobody is preselected
    page = site.client.get(f"/patients/{site.world.patient_id}/therapy/visit").text
    assert "selected>Dr Ada Reyes" not in page


def test_phone_self_report__names_the_clinic_weeks_from_the_dates_marked_patient_reported(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=40))
    path = f"/patients/{site.world.patient_id}/links/new"
    form = site.client.get(path).text
    assert "weeks_after_session" not in form  # computed, not typed
    assert re.search(rf'<option value="{sid}" selected>', form)
    fields = {
        "csrf_token": csrf_from(form),
        "episode_id": site.world.episode_id,
        "instruments": "nprs",
        "session_id": sid,
        "expires_in_hours": "168",
    }
    issued = site.client.post(path, data=fields)
    url = re.search(r'id="issued-link" href="([^"]+)"', issued.text).group(1)
    phone = url.split("testserver", 1)[1]
    site.client.cookies.clear()
    site.clock.advance(days=3)  # the patient answers on day 43: the 6-week visit
    page = site.client.get(phone).text
    assert "Northside Pain Clinic" in page
    done = site.client.post(phone, data={"nprs.1": "3"}, follow_redirects=True)
    assert done.status_code == 200 and "Your answers were received on 14 April 2026." in done.text  # day 43
    with transaction(site.engine) as db:
        saved = outcomes_of_patient(db=db, actor=ACTOR, patient_id=site.world.patient_id)
    assert [(o.data.session_id, o.data.weeks_after_session, o.data.patient_reported) for o in saved] == [
        (sid, 6, True)
    ]
    log_in(site, "physician")
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert chart.count("patient-reported</span>") == 1


def test_session_check_errors_carry_the_plain_sentence_the_form_shows(site: Site) -> None:
    from factories import session_input

    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    body["sites"][0]["units"] = -3
    response = site.client.post("/api/sessions/check", json=body, headers=site.bearer("physician"))
    assert response.status_code in (400, 422)
    errors = response.json()["errors"]
    assert errors and all(e["field"] and e["message"] for e in errors)  # API clients keep the paths
    text = " ".join(e["text"] for e in errors)
    assert "Injection site 1" in text and "sites[0]" not in text and "got" not in text
    script = (Path(__file__).parents[2] / "src/bontrack/web/static/session_form.js").read_text()
    assert 'e.field + ": "' not in script and "e.text || e.message" in script


def test_single_outcome_form__weeks_from_the_dates_not_typed(site: Site) -> None:
    sid = _session(site)
    _at(site, DAY + dt.timedelta(days=44))
    path = f"/patients/{site.world.patient_id}/outcomes/new"
    form = site.client.get(path).text
    assert 'name="weeks_after_session"' not in form
    fields = {"csrf_token": csrf_from(form), "instrument": "nprs", "episode_id": site.world.episode_id}
    fields |= {"session_id": sid, "answers.1": "5"}
    early = site.client.post(path, data=fields | {"date": str(DAY + dt.timedelta(days=3))})
    assert early.status_code == 400 and "Date must be 7 to 105 days after the session" in early.text
    saved = site.client.post(
        path, data=fields | {"date": str(DAY + dt.timedelta(days=44)), "weeks_after_session": "2"}
    )
    assert saved.status_code == 303, saved.text
    with transaction(site.engine) as db:
        [outcome] = outcomes_of_patient(db=db, actor=ACTOR, patient_id=site.world.patient_id)
    assert (outcome.data.session_id, outcome.data.weeks_after_session) == (sid, 6)
