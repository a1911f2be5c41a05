"""No clinical date before the patient's birth (bug B4), on the faces: the API and a page's form
refuse it (400, the field named in words, the stored birth date not quoted), nothing written.
The rule and the services: tests/test_dates_before_birth.py."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.kinds import KINDS
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, log_in
from web.test_corrections_intake import _posted

BEFORE = "1970-01-01"


def _counts(db: Session) -> dict[str, int]:
    return {k.name: db.scalar(select(func.count()).select_from(k.row)) or 0 for k in KINDS}


def test_api__outcome_and_screening_before_birth_refused_400_nothing_written(site: Site) -> None:
    with transaction(site.engine) as db:
        before = _counts(db)
    body = OutcomeCreate.model_validate(
        {
            "patient_id": site.world.patient_id,
            "episode_id": site.world.episode_id,
            "instrument": "nprs",
            "date": BEFORE,
            "answers": {"1": 5},
        }
    ).model_dump(mode="json")
    response = site.client.post("/api/outcomes", json=body, headers=site.bearer("physician"))
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert (error["field"], error["text"]) == ("date", "Date: 1970-01-01 is before the patient's birth date.")
    assert "1978" not in response.text  # the stored birth date is not quoted
    screening = {"patient_id": site.world.patient_id, "date": "1950-01-01", "pregnant": False}
    screening |= {"breastfeeding": False, "infection_at_injection_site": False}
    response = site.client.post("/api/screenings", json=screening, headers=site.bearer("physician"))
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "date"
    with transaction(site.engine) as db:
        assert _counts(db) == before


def test_page__outcome_form_dated_before_birth_refused_in_words_nothing_written(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/outcomes/new"
    form = site.client.get(path).text
    fields = {"csrf_token": csrf_from(form), "instrument": "nprs", "episode_id": site.world.episode_id}
    with transaction(site.engine) as db:
        before = _counts(db)
    response = site.client.post(path, data=fields | {"answers.1": "5", "date": "1900-01-01"})
    assert response.status_code == 400, response.text
    assert "1900-01-01 is before the patient&#39;s birth date" in response.text
    with transaction(site.engine) as db:
        assert _counts(db) == before


def _patient_with_screenings(site: Site) -> dict[str, Any]:
    """A second patient (no episode) with two screenings, 2026-02-01 and 2026-02-20."""
    body = {"record_number": "P-777", "name": "Second Patient", "birth_date": "1981-02-03", "sex": "male"}
    made = site.client.post("/api/patients", json=body, headers=site.bearer("staff"))
    assert made.status_code == 201, made.text
    patient: dict[str, Any] = made.json()
    for day in ("2026-02-20", "2026-02-01"):
        screening = {"patient_id": patient["id"], "date": day, "pregnant": False}
        saved = site.client.post("/api/screenings", json=screening, headers=site.bearer("staff"))
        assert saved.status_code == 201, saved.text
    return patient


BORN_AFTER = (
    "Date of birth: 2026-03-01 is after the date of the patient's screening of 2026-02-01 and 1 later "
    "record; allowed: on or before 2026-02-01, or correct or withdraw those records first."
)


def test_api__a_birth_date_corrected_after_a_screening_refused_naming_it(site: Site) -> None:
    """Session 23 judged a corrected birth date against the episodes' onsets only: a patient with
    no episode took any birth date, leaving their screenings dated before it."""
    patient = _patient_with_screenings(site)
    with transaction(site.engine) as db:
        before = _counts(db)
    correction = {"data": patient["data"] | {"birth_date": "2026-03-01"}, "reason": "year typed wrong"}
    response = site.client.put(
        f"/api/patients/{patient['id']}", json=correction, headers=site.bearer("staff")
    )
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert (error["field"], error["text"]) == ("birth_date", BORN_AFTER)
    assert patient["id"] not in response.text
    with transaction(site.engine) as db:
        assert _counts(db) == before


def test_page__a_birth_date_corrected_after_a_screening_refused_in_words(site: Site) -> None:
    patient = _patient_with_screenings(site)
    log_in(site, "staff")
    path = f"/patients/{patient['id']}/records/patient/{patient['id']}/correct"
    form = site.client.get(path)
    assert form.status_code == 200, form.text
    fields = dict(_posted(form.text)) | {"birth_date": "2026-03-01", "reason": "year typed wrong"}
    with transaction(site.engine) as db:
        before = _counts(db)
    response = site.client.post(path, data=fields)
    assert response.status_code == 400, response.text
    text = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.text).split()))
    assert BORN_AFTER.removeprefix("Date of birth: ").removesuffix(".") in text, text
    with transaction(site.engine) as db:
        assert _counts(db) == before
