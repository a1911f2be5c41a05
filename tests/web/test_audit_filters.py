"""The audit log by day (`/audit`, `/api/audit`): `from` and `to` (YYYY-MM-DD, days in UTC, both
included) keep the entries of those days, for an administrator of one clinic that clinic's only;
wrong dates are refused naming the field (on the page in words); `back` (never used) is refused;
a page beyond the last is a 404 in words with the way to the last."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.storage.audit_log import log
from bontrack.storage.engine import transaction
from bontrack.storage.times import recorded_by_clock

from .conftest import START, Site, log_in, password

DATED = "test:dated"
ADMIN_A = "admin-a@clinic.example.org"
TIMES = (
    dt.datetime(2026, 1, 9, 23, 59, 59),
    dt.datetime(2026, 1, 10, 0, 0),
    dt.datetime(2026, 1, 20, 23, 59, 59, 999_999),
    dt.datetime(2026, 1, 21, 0, 0),
)


@pytest.fixture
def dated(site: Site) -> Site:
    """One entry of clinic A at each of TIMES (each its own transaction), and one of another
    clinic on 2026-01-15; none of the log's other entries is dated before today's real date."""
    for at in TIMES:
        with recorded_by_clock(lambda at=at: at), transaction(site.engine) as db:  # type: ignore[misc]
            log(db, actor=DATED, action="read", clinic_id=site.world.clinic_id, detail=at.isoformat())
    with recorded_by_clock(lambda: dt.datetime(2026, 1, 15, 12)), transaction(site.engine) as db:
        log(db, actor=DATED, action="read", clinic_id="another-clinic", detail="another clinic's")
    return site


def _details(site: Site, query: str, headers: dict[str, str] | None = None) -> list[str]:
    response = site.client.get(f"/api/audit?limit=500&{query}", headers=headers or site.bearer("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["total"] == len(response.json()["items"])
    return [e["detail"] for e in response.json()["items"]]


def test_audit_api__from_and_to_keep_the_entries_of_those_days(dated: Site) -> None:
    assert _details(dated, "from=2026-01-10&to=2026-01-20") == [
        "another clinic's",
        TIMES[2].isoformat(),
        TIMES[1].isoformat(),
    ]
    assert _details(dated, "from=2026-01-21&to=2026-01-21") == [TIMES[3].isoformat()]
    assert _details(dated, "to=2026-01-09") == [TIMES[0].isoformat()]
    assert _details(dated, f"actor={DATED}&from=2026-01-16") == [TIMES[3].isoformat(), TIMES[2].isoformat()]


def test_audit_api__a_clinics_administrator_gets_its_clinics_entries_of_those_days(dated: Site) -> None:
    with transaction(dated.engine) as db:
        data = UserCreate(
            email=ADMIN_A, role="admin", password=password(ADMIN_A), clinic_id=dated.world.clinic_id
        )
        create_user(db=db, actor="test:setup", data=data, now=START)
    token = dated.client.post("/api/auth/token", data={"username": ADMIN_A, "password": password(ADMIN_A)})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert _details(dated, "from=2026-01-10&to=2026-01-20", bearer) == [
        TIMES[2].isoformat(),
        TIMES[1].isoformat(),
    ]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("from=2026-02-30", "from", "2026-02-30 is not a date; use YYYY-MM-DD"),
        ("to=January", "to", "January is not a date; use YYYY-MM-DD"),
        ("from=2026-02-01&to=2026-01-01", "from", "2026-02-01 is after to (2026-01-01)"),
        ("from=1899-12-31", "from", "out of range"),
    ],
)
def test_audit_api__wrong_dates_are_a_400_naming_the_field(
    dated: Site, query: str, field: str, words: str
) -> None:
    response = dated.client.get(f"/api/audit?{query}", headers=dated.bearer("admin"))
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == field and words in error["message"]


def test_audit_page__from_and_to_filter_and_are_kept(dated: Site) -> None:
    assert log_in(dated, "admin") == 303
    page = dated.client.get("/audit?from=2026-01-10&to=2026-01-20")
    assert page.status_code == 200, page.text
    assert (
        "3 entries" in page.text
        and TIMES[1].isoformat() in page.text
        and TIMES[0].isoformat() not in page.text
    )
    assert 'name="from" type="date" value="2026-01-10"' in page.text
    assert 'name="to" type="date" value="2026-01-20"' in page.text
    assert "From 2026-01-10 to 2026-01-20 (UTC)" in page.text


def test_audit_page__a_wrong_date_is_a_page_in_words(dated: Site) -> None:
    assert log_in(dated, "admin") == 303
    page = dated.client.get("/audit?from=2026-02-01&to=2026-01-01")
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "“From” 2026-02-01 is after “To” (2026-01-01)" in text and "Traceback" not in text
    assert dated.client.get("/audit?to=2026-02-30").status_code == 400


def test_audit_page__back_is_refused_naming_what_it_takes(dated: Site) -> None:
    assert log_in(dated, "admin") == 303
    page = dated.client.get("/audit?back=7")
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "does not take “back”" in text and "from" in text and "to" in text


def test_audit_page__a_page_beyond_the_last_is_a_404_in_words_with_the_way_to_the_last(dated: Site) -> None:
    assert log_in(dated, "admin") == 303
    page = dated.client.get(f"/audit?actor={DATED}&page=1000000")
    assert page.status_code == 404
    text = html.unescape(page.text)
    assert "There is no page 1000000" in text and "1 page" in text
    assert (
        f'href="/audit?actor={DATED.replace(":", "%3A")}&amp;record_id=&amp;from=&amp;to=&amp;page=1"'
        in page.text
    )
    assert dated.client.get(f"/audit?actor={DATED}&page=1").status_code == 200


def test_audit_page__a_users_e_mail_as_typed_finds_their_entries(site: Site) -> None:
    """QA pass 5: the actor filter found nothing for the e-mail alone, in another case or with a
    space around it (the log writes ``user:EMAIL``), and a record id pasted with a space was
    refused as too long."""
    patient = site.world.patient_id
    read = site.client.get(f"/api/patients/{patient}", headers=site.bearer("physician"))  # audited
    assert read.status_code == 200
    assert log_in(site, "admin") == 303
    exact = site.client.get("/audit?actor=user:physician@clinic.example.org")
    total = exact.text.split(" entries, newest first")[0].rsplit(">", 1)[-1].strip()
    assert int(total) > 0
    for typed in (
        "physician@clinic.example.org",
        " Physician@Clinic.example.org ",
        "USER:physician@clinic.example.org",
    ):
        page = site.client.get("/audit", params={"actor": typed})
        assert page.status_code == 200 and f">{total} entries, newest first" in page.text.replace(
            "\n", ""
        ).replace("  ", "")
        assert 'value="user:physician@clinic.example.org"' in page.text
    pasted = site.client.get("/audit", params={"record_id": f" {patient.upper()} "})
    assert pasted.status_code == 200 and "0 entries" not in pasted.text
    assert f'value="{patient}"' in pasted.text
    api = site.client.get(
        "/api/audit", params={"actor": "Physician@clinic.example.org"}, headers=site.bearer("admin")
    )
    assert api.status_code == 200 and api.json()["total"] > 0
