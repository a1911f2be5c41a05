"""The report's filters on the web (`/report`, `/api/report`): `date` (the report as of that day,
as `bontrack report --date`) and `clinic` (one of the clinics the user sees), refused in words
when wrong, kept on the page's form, named in the report's heading; a researcher's date is the
end of a year at the finest (the dates they see are years)."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest

from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicCreate, PatientCreate
from bontrack.storage.engine import transaction
from factories import DAY, saved_session

from .conftest import Site, log_in

EARLIER = dt.date(2025, 6, 10)  # a session before the end of 2025; the other is on DAY (today)


@dataclass
class Two:
    site: Site
    clinic_b: str


@pytest.fixture
def two(site: Site) -> Two:
    """Clinic A (the world's: two sessions of one patient, 2025-06-10 and today) and clinic B
    ("Other Clinic": two patients, no sessions)."""
    with transaction(site.engine) as db:
        saved_session(db, site.world, day=EARLIER)
        saved_session(db, site.world, day=DAY)
        clinic_b = patients.create_clinic(
            db=db, actor="test:setup", data=ClinicCreate(name="Other Clinic")
        ).id
        for number in ("OTH-1", "OTH-2"):
            patients.create_patient(
                db=db,
                actor="test:setup",
                clinic_id=clinic_b,
                data=PatientCreate(
                    record_number=number, name="Bertha Other", birth_date=dt.date(1980, 1, 1), sex="female"
                ),
            )
    return Two(site, clinic_b)


def _report(two: Two, role: str, query: str = "") -> dict:  # type: ignore[type-arg]
    response = two.site.client.get(f"/api/report{query}", headers=two.site.bearer(role))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_report_api__date_gives_the_report_as_of_that_day_never_a_cached_other(two: Two) -> None:
    today = _report(two, "physician")
    assert today["generated_on"] == DAY.isoformat() and today["summary"]["sessions"] == 2
    earlier = two.site.client.get("/api/report?date=2025-12-31", headers=two.site.bearer("physician"))
    assert earlier.json()["generated_on"] == "2025-12-31" and earlier.json()["summary"]["sessions"] == 1
    assert earlier.headers["cache-control"] == "no-store" and "etag" not in earlier.headers
    assert _report(two, "physician")["summary"]["sessions"] == 2  # today's again, not the last one asked


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("2026-03-03", "after today"),  # tomorrow (the site's clock stands on DAY)
        ("2026-02-30", "not a date"),
        ("yesterday", "not a date"),
        ("1899-12-31", "out of range"),
    ],
)
def test_report_api__future_or_impossible_date_is_a_400_naming_date(two: Two, given: str, words: str) -> None:
    response = two.site.client.get(f"/api/report?date={given}", headers=two.site.bearer("physician"))
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "date" and words in error["message"] and "YYYY-MM-DD" in error["message"]


def test_report_page__a_wrong_date_is_a_page_in_words(two: Two) -> None:
    assert log_in(two.site, "physician") == 303
    page = two.site.client.get("/report?date=2026-02-30")
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "The report date 2026-02-30 is not a date" in text and "Traceback" not in text
    assert 'href="/report"' in page.text  # a way back to today's report


def test_report_api__every_clinic_user_chooses_a_clinic(two: Two) -> None:
    every = _report(two, "admin")
    clinic_a = _report(two, "admin", f"?clinic={two.site.world.clinic_id}")
    clinic_b = _report(two, "admin", f"?clinic={two.clinic_b}")
    sessions = [r["summary"]["sessions"] for r in (every, clinic_a, clinic_b)]
    assert sessions == [2, 2, 0]  # clinic B's two patients have none
    assert [every["covers"], clinic_b["covers"]] == ["Every clinic", "Other Clinic"]
    missing = two.site.client.get("/api/report?clinic=no-such-clinic", headers=two.site.bearer("admin"))
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "clinic"


def test_report_api__a_clinic_user_gets_its_own_clinic_and_nothing_of_another(two: Two) -> None:
    own = _report(two, "physician", f"?clinic={two.site.world.clinic_id}")
    assert own["summary"] == _report(two, "physician")["summary"]
    other = two.site.client.get(f"/api/report?clinic={two.clinic_b}", headers=two.site.bearer("physician"))
    missing = two.site.client.get("/api/report?clinic=no-such-clinic", headers=two.site.bearer("physician"))
    assert other.status_code == missing.status_code == 403
    assert other.json() == missing.json()  # whether the other clinic exists is not told
    assert two.clinic_b not in other.text


def test_report_page__form_keeps_the_choice_and_the_heading_names_date_and_clinic(two: Two) -> None:
    assert log_in(two.site, "admin") == 303
    page = two.site.client.get(f"/report?date=2025-12-31&clinic={two.clinic_b}")
    assert page.status_code == 200, page.text
    form = page.text.split('<form class="report-filter"', 1)[1].split("</form>", 1)[0]
    assert re.search(r'<input[^>]*name="date"[^>]*value="2025-12-31"', form)
    assert re.search(rf'<option value="{two.clinic_b}" selected>Other Clinic</option>', form)
    assert '<option value="">Every clinic</option>' in form
    meta = page.text.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    assert "Other Clinic" in meta and "As of 2025-12-31" in meta
    every = two.site.client.get("/report").text.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    assert "Every clinic" in every and f"As of {DAY.isoformat()}" in every


def test_report_page__a_single_clinic_user_has_no_clinic_choice(two: Two) -> None:
    assert log_in(two.site, "physician") == 303
    page = two.site.client.get("/report")
    form = page.text.split('<form class="report-filter"', 1)[1].split("</form>", 1)[0]
    assert 'name="date"' in form and 'name="clinic"' not in form
    meta = page.text.split('<p class="meta">', 1)[1].split("</p>", 1)[0]
    clinic_name = "Every clinic" not in meta and two.site.world.clinic_id not in meta
    assert clinic_name and "As of" in meta


def test_report__a_researchers_date_is_the_end_of_a_year_at_the_finest(two: Two) -> None:
    """A day-by-day date would tell a researcher the day of each session (the report's counts
    change on it); they see session dates to the year."""
    response = two.site.client.get("/api/report?date=2025-06-14", headers=two.site.bearer("researcher"))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "date" and "31 December" in error["message"]
    year_end = _report(two, "researcher", "?date=2025-12-31")
    assert year_end["summary"]["sessions"] == 1 and year_end["summary"]["first_session"] == "2025"
    assert _report(two, "researcher")["generated_on"] == DAY.isoformat()  # today, as before
    assert log_in(two.site, "researcher") == 303
    page = two.site.client.get("/report?date=2025-12-31")
    form = page.text.split('<form class="report-filter"', 1)[1].split("</form>", 1)[0]
    assert '<select id="report-date" name="date"' in form and 'type="date"' not in form
    assert '<option value="2025-12-31" selected>End of 2025</option>' in form
