"""Form field names whose shapes do not fit together (a value and rows under one name, a negative
or huge row number, answers as rows): a 400 that names the field and says what is allowed, never
a 500, and nothing written. Through the TestClient on a real SQLite registry, and ``nest`` itself.
"""

from __future__ import annotations

import html as html_text
import re
import time
import tracemalloc

import pytest
from httpx import Response

from bontrack.errors import InputError
from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.web.forms import MAX_FORM_FIELDS, answer_codes, nest
from bontrack.web.views.followup_form import NOT_A_FOLLOW_UP
from web.conftest import Site, csrf_from, log_in
from web.test_new_pages import PATIENT
from web.test_pages import count, session_form

PAGE = {"Accept": "text/html"}  # a browser: the app's error page, not problem+json
ROWS = f"must have rows numbered from 0 to {MAX_FORM_FIELDS - 1}"


def _post(site: Site, path: str, fields: dict[str, str], headers: dict[str, str] = PAGE) -> Response:
    token = csrf_from(site.client.get(path).text)
    return site.client.post(path, data=fields | {"csrf_token": token}, headers=headers)


def _words(html: str) -> str:
    """The page's text, tags dropped and entities of quotes read back."""
    return html_text.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _refused(response: Response, *sentences: str) -> None:
    assert response.status_code == 400, response.text[:500]
    text = _words(response.text)
    assert "Something went wrong" not in text
    for sentence in sentences:
        assert sentence in text, text[:2000]


# ---- the pages -------------------------------------------------------------------------------


def test_session_form__negative_row_number_is_a_400_naming_the_sites(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    before = count(site, InjectionSessionRow)
    response = _post(site, path, session_form(site) | {"sites[-1].muscle": "upper_trapezius"})
    _refused(response, f"Injection sites {ROWS}.")
    assert count(site, InjectionSessionRow) == before


def test_session_form__huge_row_number_refused_at_once_without_padding(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    started = time.perf_counter()
    response = _post(site, path, session_form(site) | {"sites[1000000000].muscle": "upper_trapezius"})
    assert time.perf_counter() - started < 5  # padding a list to 10**9 rows would take minutes and ~8 GB
    _refused(response, f"Injection sites {ROWS}.")
    assert count(site, InjectionSessionRow) == 0


def test_session_form__shape_error_answers_an_api_client_with_the_field(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    response = _post(site, path, session_form(site) | {"sites.muscle": "upper_trapezius"}, headers={})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert error["field"] == "sites" and "not both as numbered rows and as named parts" in error["message"]
    assert count(site, InjectionSessionRow) == 0


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        ({"name[0]": "x"}, "Name must be given one way, not both as one value and as numbered rows."),
        (
            {"record_number.x": "x"},
            "Record number must be given one way, not both as one value and as named parts.",
        ),
    ],
    ids=["value-and-rows", "value-and-parts"],
)
def test_new_patient__a_value_and_a_nested_one_under_one_name_is_a_400(
    site: Site, extra: dict[str, str], sentence: str
) -> None:
    log_in(site, "staff")
    before = count(site, PatientRow)
    _refused(_post(site, "/patients/new", PATIENT | extra), sentence)
    assert count(site, PatientRow) == before


def test_outcome_form__answers_as_rows_is_a_400_saying_how_to_number_them(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/outcomes/new"
    fields = {
        "instrument": "nprs",
        "episode_id": site.world.episode_id,
        "date": "2026-03-02",
        "answers[0]": "3",
    }
    _refused(
        _post(site, path, fields), "The answers must be given by question number, as answers.1, answers.2"
    )
    assert count(site, OutcomeRow) == 0


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        ({"nprs.answers[0]": "3"}, "as nprs.answers.1, nprs.answers.2"),
        ({"nprs": "3"}, "Nprs must be given in named parts, as nprs.<part>."),
    ],
    ids=["answers-as-rows", "a-value-for-the-questionnaire"],
)
def test_visit_form__answers_of_the_wrong_shape_are_a_400(
    site: Site, extra: dict[str, str], sentence: str
) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/visits/new"  # a baseline visit: every questionnaire
    fields = {"session_id": NOT_A_FOLLOW_UP, "date": "2026-03-02", "episode_id": site.world.episode_id}
    _refused(_post(site, path, fields | extra), sentence)
    assert count(site, OutcomeRow) == 0


def test_self_report__answers_of_the_wrong_shape_are_a_400_and_the_link_stays_usable(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/links/new"
    issued = _post(
        site, path, {"episode_id": site.world.episode_id, "instruments": "nprs", "expires_in_hours": "24"}
    )
    url = re.search(r'id="issued-link" href="([^"]+)"', issued.text)
    assert url, issued.text
    link_path = "/p/" + url.group(1).rsplit("/p/", 1)[1]
    site.client.cookies.clear()  # the patient has no session
    for fields in ({"nprs[0]": "3"}, {"nprs": "3"}, {"nprs.1": "3", "nprs.1.x": "3"}):
        response = site.client.post(link_path, data=fields, headers=PAGE)
        assert response.status_code == 400, (fields, response.text[:300])
        assert "Something went wrong" not in response.text
    assert count(site, OutcomeRow) == 0
    assert site.client.post(link_path, data={"nprs.1": "4"}).status_code == 303
    assert count(site, OutcomeRow) == 1


# ---- nest itself -----------------------------------------------------------------------------


def _error(fields: list[tuple[str, str]]) -> tuple[str, str]:
    with pytest.raises(InputError) as caught:
        nest(fields)
    [error] = caught.value.errors
    return error.field, error.message


@pytest.mark.parametrize(
    ("fields", "field", "shapes"),
    [
        ([("name", "A"), ("name[0]", "x")], "name", "one value and as numbered rows"),
        ([("name[0]", "x"), ("name", "A")], "name", "numbered rows and as one value"),
        ([("n", "A"), ("n.x", "x")], "n", "one value and as named parts"),
        ([("n.x", "x"), ("n", "A")], "n", "named parts and as one value"),
        ([("s[0].m", "x"), ("s.m", "y")], "s", "numbered rows and as named parts"),
        ([("s.m", "y"), ("s[0].m", "x")], "s", "named parts and as numbered rows"),
        ([("s[0]", "x"), ("s[0].m", "y")], "s[0]", "one value and as named parts"),
        ([("s[0].m", "y"), ("s[0]", "x")], "s[0]", "named parts and as one value"),
        ([("s[0].m", "y"), ("s[0][1]", "x")], "s[0]", "named parts and as numbered rows"),
    ],
)
def test_nest__a_name_given_two_shapes_is_refused_naming_it(
    fields: list[tuple[str, str]], field: str, shapes: str
) -> None:
    found, message = _error(fields)
    assert found == field
    assert message.startswith(f"must be given one way, not both as {shapes}")


@pytest.mark.parametrize(
    "name",
    [
        "sites[-1].muscle",
        "sites[x]",
        "sites[1000000000]",
        f"sites[{MAX_FORM_FIELDS}].m",
        "s[" + "9" * 5000 + "]",
    ],
)
def test_nest__row_numbers_outside_the_forms_bound_are_refused(name: str) -> None:
    found, message = _error([(name, "x")])
    assert found == name.split("[")[0]
    assert message.startswith(ROWS)


@pytest.mark.parametrize("name", ["a..b", "[0]", "a[0]b", "a]", ".a", "a" + ".a" * 3000, ""])
def test_nest__names_no_form_uses_are_refused_not_a_server_error(name: str) -> None:
    _found, message = _error([(name, "x")])
    assert "is not a field of this form" in message


def test_nest__a_huge_row_number_allocates_nothing() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InputError):
            nest([("answers[10000000]", "3")])  # the old parser padded a list of 10**7 (80 MB, 1 s)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_nest__rows_up_to_the_bound_nest_and_close_up_one_beyond_is_refused() -> None:
    last = MAX_FORM_FIELDS - 1
    fields = [(f"s[{last}].m", "z"), ("s[2].m", "y"), ("s[0].m", "x"), ("s[0].u", ""), ("n", "A"), ("n", "B")]
    assert nest(fields) == {"s": [{"m": "x"}, {"m": "y"}, {"m": "z"}], "n": "B"}
    assert nest([("name", ""), ("name[0]", "x")]) == {"name": ["x"]}  # a blank field is not given
    assert nest([("goals", "a\n\nb ")], lists=("goals",)) == {"goals": ["a", "b"]}
    assert _error([(f"s[{last + 1}].m", "z")]) == ("s", f"{ROWS} (got 's[{last + 1}].m')")


def test_answer_codes__rows_or_a_value_instead_of_numbered_answers_are_refused() -> None:
    assert answer_codes({"1": " 3 ", "2": "x"}) == {"1": 3, "2": "x"}
    assert answer_codes(None) == {}
    for given in (["3"], "3"):
        with pytest.raises(InputError) as caught:
            answer_codes(given, "nprs")
        assert caught.value.errors[0].field == "nprs"
