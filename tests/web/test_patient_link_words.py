"""What a patient reads through their link (QA pass 4, findings 3, 4, 5 and 14): a half-filled form
names and marks the questions still to answer; the VAS asks for what its control takes; a sent
form's link says the answers were received; the patient's API speaks plain words."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bontrack.auth.link_words import needed_unanswered, numbers_in_words
from bontrack.outcomes.models import OutcomeRow
from bontrack.web.patient_words import long_date
from web.conftest import Site
from web.test_pages import count

RAW = ("Form ", "the answers:", "NDI NDI", "score", "forms[", "has no item", "Input should", "(got ")


def _link(site: Site, instruments: list[str], **extra: Any) -> str:
    body = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instruments": instruments,
    }
    response = site.client.post("/api/patient-links", json=body | extra, headers=site.bearer("staff"))
    assert response.status_code == 201, response.text
    return f"/p/{response.json()['token']}"


def _banner(html: str) -> list[str]:
    box = html.split('id="answers-problems"', 1)[1].split("</div>", 1)[0]
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", box, re.S)]


def _marked(html: str) -> list[str]:
    """The questions the page marks (their fieldsets' ids)."""
    return re.findall(r'<fieldset class="question has-error" id="q-([^"]+)"', html)


def test_half_filled_form__names_and_marks_each_question_still_needed_and_keeps_the_answers(
    site: Site,
) -> None:
    link = _link(site, ["nprs", "ndi", "rand36"])
    fields = (
        {"nprs.1": "6"} | {f"ndi.{n}": "1" for n in (1, 2, 3)} | {f"rand36.{n}": "1" for n in range(1, 11)}
    )
    response = site.client.post(link, data=fields)
    assert response.status_code == 400
    html = response.text
    assert _banner(html) == [
        "Questions 4 to 10 of the Neck Disability Index are not answered yet.",
        "Questions 21 and 22 of the RAND 36-Item Health Survey 1.0 are not answered yet.",
    ]
    assert "questions marked in red" not in html
    assert 'href="#q-ndi.4"' in html and 'href="#q-rand36.21"' in html  # each line leads to its question
    assert _marked(html) == [f"ndi.{n}" for n in range(4, 11)] + ["rand36.21", "rand36.22"]
    # each marked question says so in words, and its inputs are invalid and described by them
    assert html.count(">Not answered yet.</span>") == 9
    ndi4 = re.findall(r'<input type="radio" name="ndi.4"[^>]*>', html)
    assert ndi4 and all('aria-invalid="true" aria-describedby="err-ndi.4"' in i for i in ndi4)
    assert 'id="err-ndi.4">Not answered yet.' in html
    assert 'name="ndi.3"' in html and 'aria-describedby="err-ndi.3"' not in html  # answered: not marked
    # the answers given stay chosen
    assert re.search(r'name="nprs.1" value="6"[^>]*checked', html)
    assert re.search(r'name="ndi.2" value="1"[^>]*checked', html)
    for raw in RAW:
        assert raw not in html.split('<form method="post"', 1)[0], raw
    assert count(site, OutcomeRow) == 0


def test_an_answer_to_no_question_of_the_form__says_to_reload(site: Site) -> None:
    link = _link(site, ["nprs", "vas"])
    page = site.client.post(link, data={"nprs.1": "5", "vas.1": "40", "nprs.99": "3"})
    assert page.status_code == 400
    said = "This answer does not belong to the form; please reload the page."
    assert _banner(page.text) == [said]
    assert "NPRS has no item" not in page.text and "Form 1" not in page.text
    api = site.client.post(
        f"/api/patient-link/{link[3:]}/outcomes",
        json={"forms": [{"instrument": "nprs", "answers": {"99": 3}}]},
    )
    assert api.status_code == 400 and api.json()["detail"] == said
    assert api.json()["errors"] == [{"field": "forms[0].answers", "message": said, "text": said}]
    assert count(site, OutcomeRow) == 0


def test_vas__a_line_to_mark_drawn_by_a_script_else_a_number_typed_and_the_words_say_which(
    site: Site,
) -> None:
    link = _link(site, ["vas"])
    html = site.client.get(link).text
    # the line: a range input, shown by static/vas.js, its ends named, labelled by the question
    line = re.search(r'<input type="range" id="f-vas.1"[^>]*>', html, re.S)
    assert line, html
    assert 'min="0" max="100" step="1"' in line[0] and 'class="unset"' in line[0]
    assert 'aria-labelledby="q-vas.1-title"' in line[0]
    assert '<div class="vas-line" data-line hidden>' in html
    assert "0: No pain" in html and "100: Worst pain imaginable" in html
    assert "Not marked yet: tap or drag on the line." in html
    # the words about the line are shown with the line only; without the script, a number is typed
    assert re.search(r"<p data-line hidden>Mark the line at the point", html)
    assert "Type a number from 0 (no pain) to 100 (worst pain imaginable)" in html
    assert re.search(r'<input type="number" id="f-vas.1-typed" name="vas.1" min="0" max="100"', html)
    assert '<script src="/static/vas.js"' in html or re.search(r'<script src="[^"]*/static/vas.js"', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)|\sstyle=", html)  # the page's CSP: no inline code
    csp = site.client.get(link).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert site.client.get("/static/vas.js").status_code == 200


@pytest.mark.parametrize("answer", ["40.5", "101", "-1", "x"])
def test_vas__still_a_whole_number_from_0_to_100(site: Site, answer: str) -> None:
    link = _link(site, ["vas"])
    refused = site.client.post(link, data={"vas.1": answer})
    assert refused.status_code == 400
    assert (
        "Question 1 of the Visual Analogue Scale for pain must be a whole number from 0 to 100."
        in refused.text
    )
    assert re.search(r'<input type="range" id="f-vas.1"[^>]*aria-invalid="true"', refused.text, re.S)
    assert site.client.post(link, data={"vas.1": "100"}).status_code == 303
    assert count(site, OutcomeRow) == 1


def test_vas__untouched_line_is_sent_as_not_answered(site: Site) -> None:
    link = _link(site, ["vas"])
    response = site.client.post(link, data={"vas.1": ""})  # the hidden field, blank until touched
    assert response.status_code == 400
    assert _banner(response.text) == ["Question 1 of the Visual Analogue Scale for pain is not answered yet."]


def test_sent__redirects_and_the_link_then_says_the_answers_arrived_while_other_links_keep_their_words(
    site: Site,
) -> None:
    link = _link(site, ["nprs"])
    sent = site.client.post(link, data={"nprs.1": "4"})
    assert sent.status_code == 303 and sent.headers["location"] == link
    said = "Your answers were received on 2 March 2026. Thank you — there is nothing more to do."
    for again in (site.client.get(link), site.client.post(link, data={"nprs.1": "9"}, follow_redirects=True)):
        assert again.status_code == 200 and said in again.text
        assert "cannot be used" not in again.text and "ask the clinic for a new one" not in again.text
    assert count(site, OutcomeRow) == 1
    api = site.client.get(f"/api/patient-link/{link[3:]}")
    assert api.status_code == 410 and api.json()["detail"] == said
    expired = _link(site, ["nprs"], expires_in_hours=1)
    site.clock.advance(hours=2)
    gone = site.client.get(expired, headers={"accept": "text/html"})
    assert gone.status_code == 410 and "This link has expired; ask the clinic for a new one." in gone.text


def test_patient_api__plain_words_not_pydantic(site: Site) -> None:
    short = site.client.get("/api/patient-link/short")
    assert short.status_code == 404
    wrong = "This link is incomplete or wrong; ask the clinic for a new one."
    assert short.json()["detail"] == wrong and "characters" not in short.text
    token = _link(site, ["nprs"])[3:]
    for body in ({"forms": []}, {}):
        nothing = site.client.post(f"/api/patient-link/{token}/outcomes", json=body)
        assert nothing.status_code == 422
        assert nothing.json()["detail"] == "No answers were sent. Please answer the questions before sending."
        assert "List should" not in nothing.text and "Field required" not in nothing.text
    bad = site.client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{"instrument": "nprs", "answers": {"1": 12}}]}
    )
    assert bad.status_code == 400
    assert (
        bad.json()["detail"]
        == "Question 1 of the Numeric Pain Rating Scale must be a whole number from 0 to 10."
    )
    assert bad.json()["errors"][0]["field"] == "forms[0].answers.1"


@pytest.mark.parametrize(
    ("numbers", "words"),
    [([4], "4"), ([21, 22], "21 and 22"), (range(4, 11), "4 to 10"), ([1, 3, 5, 6, 7, 8], "1, 3 and 5 to 8")],
)
def test_numbers_in_words(numbers: list[int], words: str) -> None:
    assert numbers_in_words(numbers) == words


def test_needed_questions__a_scale_needs_its_own_a_whole_form_every_one() -> None:
    assert needed_unanswered("rand36", {"1": 3}) == (21, 22)
    assert needed_unanswered("ndi", {"1": 1, "2": 1, "3": 1}) == tuple(range(4, 11))


def test_long_date__whatever_the_locale() -> None:
    import datetime as dt

    assert long_date(dt.date(2026, 12, 6)) == "6 December 2026"
