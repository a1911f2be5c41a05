"""The patient list (issue 14, item 2): name, record number, age, last visit and next due shown and
sortable either way; the search and the pages keep the sort."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bontrack.patients import service as patients
from bontrack.patients.schemas import PatientCreate
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, saved_session
from web.conftest import Site, log_in

NAMES = ("Alice Older", "Test Patient", "Zed Young")


@pytest.fixture
def three(site: Site) -> Site:
    """The world's patient (47, an injection on DAY, so visits due) and two without any visit."""
    with transaction(site.engine) as db:
        for record, name, born in (("P-010", "Alice Older", 1950), ("P-002", "Zed Young", 2000)):
            data = PatientCreate(record_number=record, name=name, birth_date=dt.date(born, 1, 1), sex="male")
            patients.create_patient(db=db, actor=ACTOR, clinic_id=site.world.clinic_id, data=data)
        saved_session(db, site.world)
    log_in(site, "physician")
    return site


def _order(site: Site, query: str) -> list[str]:
    page = site.client.get(f"/patients?{query}")
    assert page.status_code == 200, page.text
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [n for n in re.findall(r">([^<>]+)</a></td>", body) if n in NAMES]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alice Older", "Test Patient", "Zed Young"]),
        ("sort=name&order=desc", ["Zed Young", "Test Patient", "Alice Older"]),
        ("sort=record_number", ["Test Patient", "Zed Young", "Alice Older"]),
        ("sort=record_number&order=desc", ["Alice Older", "Zed Young", "Test Patient"]),
        ("sort=age", ["Zed Young", "Test Patient", "Alice Older"]),
        ("sort=age&order=desc", ["Alice Older", "Test Patient", "Zed Young"]),
        # without a visit or a due item a patient comes last, whichever the direction
        ("sort=last_visit", ["Test Patient", "Alice Older", "Zed Young"]),
        ("sort=next_due&order=desc", ["Test Patient", "Alice Older", "Zed Young"]),
    ],
)
def test_patient_list__sorts_by_each_column(three: Site, query: str, expected: list[str]) -> None:
    assert _order(three, query) == expected


def test_patient_list__shows_age_last_visit_next_due_and_keeps_the_sort(three: Site) -> None:
    page = three.client.get("/patients?sort=age&order=desc").text
    headings = re.findall(r'data-sort="(\w+)"', page)
    assert headings == ["name", "record_number", "age", "last_visit", "next_due"]
    assert 'aria-sort="descending"' in page
    row = page.split("Test Patient", 1)[1].split("</tr>", 1)[0]
    assert f">{DAY}</td>" in row  # the last visit: the injection
    assert "outcome visit after" in row or "therapy visit" in row  # what is due next
    assert "47" in row  # age on the clinic's day (born 1978-05-04, today 2026-03-02)
    search = three.client.get("/patients?q=zed&sort=age&order=desc").text
    assert "Zed Young" in search and "Alice Older" not in search
    assert 'name="sort" value="age"' in search  # a new search keeps the sort


def test_patient_list__unknown_sort_is_refused(three: Site) -> None:
    assert three.client.get("/patients?sort=birth_date").status_code == 422


def test_patient_list__unknown_sort_in_a_browser_is_a_page_in_words(three: Site) -> None:
    page = three.client.get("/patients?sort=birth_date", headers={"accept": "text/html"})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert "Sort must be one of: name, record_number, age, last_visit or next_due." in page.text
