"""Plain words (issue 14, item 6): error pages for browsers, problem+json for API clients, and
form errors as sentences naming the field's label, above all on the patient's phone form."""

from __future__ import annotations

import re

import pytest

from bontrack.web.plain import label, sentence
from factories import session_input
from web.conftest import Site, log_in
from web.test_pages import post_form

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
RAW = ("Value error", "(got ", "should have at least", "Input should", "Field required", "Dictionary")


def _messages(html: str) -> list[str]:
    """What a person reads about their input: the inline errors and the summary's lines."""
    inline = re.findall(r'class="field-error"[^>]*>([^<]*)<', html)
    summary = re.findall(r'<li><a href="#f-[^"]*">([^<]*)</a></li>', html)
    return inline + summary


def test_unknown_url__html_page_for_a_browser_with_a_way_back(site: Site) -> None:
    anonymous = site.client.get("/no/such/page", headers=BROWSER)
    assert anonymous.status_code == 404 and anonymous.headers["content-type"].startswith("text/html")
    assert "Page not found" in anonymous.text and 'href="/login"' in anonymous.text
    log_in(site, "physician")
    page = site.client.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Log out" in page.text, "the logged-in user keeps the app's navigation"
    assert 'href="/">Back to the start page' in page.text
    assert '"status"' not in page.text and "{" not in page.text.split("<main")[1]


def test_unknown_url__problem_json_for_an_api_client(site: Site) -> None:
    log_in(site, "physician")
    for path, headers in (
        ("/api/no/such/thing", BROWSER),  # under /api: always problem+json
        ("/no/such/page", {"accept": "application/json"}),
        ("/no/such/page", {}),
    ):
        response = site.client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", (path, headers)
        assert response.json()["status"] == 404


def test_method_not_allowed__html_page_for_a_browser(site: Site) -> None:
    response = site.client.put("/login", headers=BROWSER)
    assert response.status_code == 405 and "text/html" in response.headers["content-type"]
    assert "Not possible here" in response.text


def test_phone_form__sent_empty_says_so_in_plain_words(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/links/new"
    _status, html = post_form(
        site, path, {"episode_id": site.world.episode_id, "instruments": "nprs", "expires_in_hours": "24"}
    )
    url = re.search(r'id="issued-link" href="([^"]+)"', html)
    assert url, html
    link = "/p/" + url.group(1).rsplit("/p/", 1)[1]
    site.client.cookies.clear()  # the patient has no session
    empty = site.client.post(link, data={})
    assert empty.status_code == 400
    assert "Question 1 of the Numeric Pain Rating Scale is not answered yet." in empty.text
    out_of_range = site.client.post(link, data={"nprs.1": "-3"})
    assert out_of_range.status_code == 400
    assert (
        "Question 1 of the Numeric Pain Rating Scale must be a whole number from 0 to 10."
        in out_of_range.text
    )
    for response in (empty, out_of_range):
        for raw in (*RAW, "forms[", "nprs.1:", "NPRS item"):
            assert raw not in response.text, raw


def test_staff_forms__errors_name_the_label_in_a_sentence(site: Site) -> None:
    log_in(site, "physician")
    status, html = post_form(site, "/patients/new", {"name": "", "birth_date": "2030-01-01", "sex": "x"})
    assert status == 400
    said = _messages(html)
    assert "Name is required." in said
    assert "Sex must be one of: female, male, other or unknown." in said
    episode = f"/patients/{site.world.patient_id}/episodes/new"
    status, html = post_form(
        site,
        episode,
        {"pain_onset_date": "2026-01-01", "diagnosis_other": "not-a-code", "conservative_care_weeks": "-3"},
    )
    assert status == 400
    said = _messages(html)
    assert "Weeks of conservative care must be 0 or more." in said
    assert any(m.startswith("Other ICD-10-CM codes: ") for m in said), said
    for message in said:
        assert "diagnosis_other" not in message and "conservative_care_weeks" not in message
        assert not any(raw in message for raw in RAW), message


@pytest.mark.parametrize(
    ("field", "message", "expected"),
    [
        ("units", "Input should be greater than or equal to 0 (got '-3')", "Units must be 0 or more."),
        ("sites[1].units", "Input should be greater than 0", "Injection site 2: units must be more than 0."),
        (
            "weeks",
            "Input should be a valid number, unable to parse string as a number (got 'x')",
            "Weeks must be a number.",
        ),
        (
            "notes",
            "String should have at most 2000 characters",
            "Notes must be at most 2000 characters long.",
        ),
        ("medications", "Value error, unknown medicine 'zz'", "Medications: Unknown medicine 'zz'."),
        (
            "forms[0].answers",
            "Dictionary should have at least 1 item after validation, not 0 (got {})",
            "Form 1: the answers must have at least one entry.",
        ),
        (
            "answers.3",
            "NDI item 3 (Personal care) must be one of 0-5, got 9",
            "Question 3 must be a whole number from 0 to 5.",
        ),
        (  # the whole number said once (it read "a whole number, a whole number from 0 to 10")
            "answers.1",
            "NPRS item 1 (Pain intensity) must be a whole number, one of 0-10; got 5.5",
            "Question 1 must be a whole number from 0 to 10.",
        ),
        (
            "allergies[0]",
            "unknown allergy 'pollen'; allowed: ids of screening.toml",
            "Allergy 1: Unknown allergy 'pollen'; allowed: ids of screening.toml.",
        ),
        ("sites[0].units", "must be more than 0", "Injection site 1: units must be more than 0."),
        ("diagnosis_codes[1].code", "is required", "Diagnosis 2: code is required."),
    ],
)
def test_sentence__pydantic_and_service_wording_in_plain_words(
    field: str, message: str, expected: str
) -> None:
    assert sentence(field, message) == expected


def test_label__from_the_form_templates() -> None:
    assert label("birth_date") == "Date of birth"
    assert label("override.reason") == "Reason for overriding the block"
    assert label("diagnosis_other") == "Other ICD-10-CM codes"
    assert label("diluent_ml") == "Diluent (mL)"
    # "(optional)" stays on the form, not in a message nor a record's history (QA pass 5)
    assert label("email") == "E-mail" and label("phone") == "Phone"
    assert sentence("email", "must be at most 320 characters") == "E-mail must be at most 320 characters."


def test_impossible_dates__named_by_the_forms_label_and_written_as_allowed(site: Site) -> None:
    from web.test_pages import session_form

    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    fields = session_form(site, date="2026-02-30", reconstituted_at="2026-02-30T08:30")
    status, html = post_form(site, path, fields)
    assert status == 400
    said = _messages(html)
    assert "Session date: 2026-02-30 is not a date; use YYYY-MM-DD." in said
    assert "Reconstituted at: 2026-02-30T08:30 is not a date and time; use YYYY-MM-DDTHH:MM." in said
    screening = f"/patients/{site.world.patient_id}/screenings/new"
    status, html = post_form(site, screening, {"date": "2026-02-30"})
    assert status == 400 and "Date: 2026-02-30 is not a date; use YYYY-MM-DD." in _messages(html)
    body = {"record_number": "P-9", "name": "X", "birth_date": "1970-02-30", "sex": "female"}
    response = site.client.post("/api/patients", json=body, headers=site.bearer("staff"))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "birth_date"
    assert error["text"] == "Date of birth: 1970-02-30 is not a date; use YYYY-MM-DD."
    for message in said:
        assert not any(raw in message for raw in RAW), message


def test_worklist_page__an_unknown_type_lists_the_options_in_words(site: Site) -> None:
    log_in(site, "staff")
    response = site.client.get("/worklist?kind=bogus", headers=BROWSER)
    assert response.status_code == 400
    assert (
        "Type must be one of: All, Outcome visit, Re-injection, Physical therapy, Adverse event follow-up "
        "or Stop and review." in response.text
    )
    assert "outcome_visit" not in response.text.split("<main")[1]
    assert site.client.get("/worklist?kind=reinjection", headers=BROWSER).status_code == 200


def test_query_parameters__one_an_address_does_not_take_is_refused_naming_it(site: Site) -> None:
    log_in(site, "staff")
    for path, name in (
        ("/worklist?date=2026-02-30", "date"),
        ("/worklist?kind=&date=2026-01-01", "date"),
        ("/report?since=2026-01-01", "since"),  # the report takes date (tests/web/test_report_filters.py)
    ):
        page = site.client.get(path, headers=BROWSER)
        assert page.status_code == 400, path
        assert f"This page&#39;s address does not take “{name}”" in page.text, path
    assert site.client.get("/worklist?kind=&days=14&back=0&page=1", headers=BROWSER).status_code == 200
    site.client.cookies.clear()
    headers = site.bearer("staff")
    report = site.client.get("/api/report?since=2026-01-01&x=1", headers=headers)
    assert report.status_code == 400
    assert [e["field"] for e in report.json()["errors"]] == ["since", "x"]
    assert "is not a query parameter of /api/report" in report.json()["errors"][0]["message"]
    assert site.client.get("/api/worklist?date=2026-03-02", headers=headers).status_code == 200
    assert site.client.get("/api/patients?limit=5&offset=0", headers=headers).status_code == 200
    assert site.client.get("/api/patients?q=Test", headers=headers).status_code == 400  # no search here


def _link(site: Site) -> str:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/links/new"
    _status, html = post_form(
        site, path, {"episode_id": site.world.episode_id, "instruments": "nprs", "expires_in_hours": "24"}
    )
    url = re.search(r'id="issued-link" href="([^"]+)"', html)
    assert url, html
    site.client.cookies.clear()  # the patient has no session
    return "/p/" + url.group(1).rsplit("/p/", 1)[1]


def test_phone_form__a_link_cut_short_or_wrong_reads_as_any_unusable_link(site: Site) -> None:
    link = _link(site)
    said = "This link is incomplete or wrong; ask the clinic for a new one."
    for path in ("/p/bogus-token", link[:-3], link + "x" * 200, link[:-2] + "zz", "/p/" + "a" * 30):
        for response in (
            site.client.get(path, headers=BROWSER),
            site.client.post(path, data={"nprs.1": "3"}),
        ):
            assert response.status_code == 410, path
            assert said in response.text, path
            assert "Token" not in response.text and "characters" not in response.text


def test_phone_form__a_half_point_or_a_letter_says_the_whole_number_once(site: Site) -> None:
    link = _link(site)
    for answer in ("5.5", "x"):
        response = site.client.post(link, data={"nprs.1": answer})
        assert response.status_code == 400
        assert (
            "Question 1 of the Numeric Pain Rating Scale must be a whole number from 0 to 10."
            in response.text
        )
        assert "whole number, a whole number" not in response.text


def test_phone_form__thank_you_says_when_the_answers_arrived_and_nothing_about_the_patient(
    site: Site,
) -> None:
    link = _link(site)
    done = site.client.post(link, data={"nprs.1": "3"}, follow_redirects=True)
    assert done.status_code == 200
    said = "Your answers were received on 2 March 2026. Thank you — there is nothing more to do."
    assert said in done.text and "questionnaire were" not in done.text
    # whoever holds the used link later reads no name, clinic, form or answer
    for private in ("Northside Pain Clinic", site.world.patient_id, "Numeric Pain Rating Scale", "nprs"):
        assert private not in done.text, private


def test_products_and_units__one_name_and_one_way_of_writing_units_on_every_page(site: Site) -> None:
    from bontrack.storage.engine import transaction
    from factories import saved_session

    with transaction(site.engine) as db:
        saved_session(db, site.world, units=25)
    log_in(site, "physician")
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    form = site.client.get(f"/patients/{site.world.patient_id}/sessions/new").text
    for page in (chart, form):
        assert "(botox)" not in page and "BOTOX" not in page
    assert "onabotulinumtoxinA (Botox) 50 U · " in chart  # the body map's session picker
    assert "onabotulinumtoxinA (Botox) 50 U at 2 sites" in chart  # the timeline
    assert "Cycle 1: injection on 2026-03-02 · onabotulinumtoxinA (Botox) 50 U" in chart
    assert "<td>25 U <span" in chart and ".0 U" not in chart  # the muscle table
    assert 'value="daxibotulinumtoxinA" >daxibotulinumtoxinA-lanm (Daxxify)</option>' in form
    site.client.cookies.clear()
    body = session_input(site.world, product="daxi").model_dump(mode="json", exclude_none=True)
    refused = site.client.post("/api/sessions/check", json=body, headers=site.bearer("physician"))
    (error,) = refused.json()["errors"]
    assert "onabotulinumtoxinA (Botox)" in error["message"]
    assert "daxibotulinumtoxinA-lanm (Daxxify), by name or brand" in error["message"]
    body["product"] = "DaxibotulinumtoxinA-LANM"  # the name a message gives is taken
    named = site.client.post("/api/sessions/check", json=body, headers=site.bearer("physician"))
    assert "unknown product" not in named.text
