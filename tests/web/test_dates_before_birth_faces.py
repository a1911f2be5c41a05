"""No clinical date before the patient's birth (bug B4), on the faces: the API and a page's form
refuse it (400, the field named in words, the stored birth date not quoted), nothing written.
The rule and the services: tests/test_dates_before_birth.py."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bontrack.kinds import KINDS
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, log_in

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
