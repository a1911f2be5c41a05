"""The screening form asks pregnancy and breastfeeding only of a patient who may be pregnant:
not of a male patient (README: "Pregnancy and breastfeeding are not asked of male patients").
An answer given all the same (the API, a stored record) is kept and judged: a "yes" blocks."""

from __future__ import annotations

import re

from factories import DAY
from web.conftest import Site, csrf_from, log_in
from web.test_current_facts_api import _body, _check, _patient


def _radios(page: str) -> set[str]:
    return set(re.findall(r'<input type="radio" name="(\w+)"', page))


def test_screening_form__pregnancy_and_breastfeeding_not_asked_of_a_male_patient(site: Site) -> None:
    male, _episode = _patient(site, "M-1", screened_days_before=None, sex="male")
    log_in(site, "staff")
    page = site.client.get(f"/patients/{male}/screenings/new").text
    assert _radios(page) == {"infection_at_injection_site"}
    assert "Not asked of a patient whose recorded sex is male: pregnancy, breastfeeding." in page
    for sex in ("female", "other", "unknown"):  # anyone who may be pregnant is asked
        other, _episode = _patient(site, f"S-{sex}", screened_days_before=None, sex=sex)
        page = site.client.get(f"/patients/{other}/screenings/new").text
        assert _radios(page) == {"pregnant", "breastfeeding", "infection_at_injection_site"}, sex
        assert 'id="not-asked"' not in page


def test_screening_form__a_male_patients_screening_saves_without_them_and_the_plan_does_not_ask(
    site: Site,
) -> None:
    male, episode = _patient(site, "M-2", screened_days_before=None, sex="male")
    log_in(site, "staff")
    path = f"/patients/{male}/screenings/new"
    fields = {"csrf_token": csrf_from(site.client.get(path).text), "date": str(DAY)}
    saved = site.client.post(path, data=fields | {"infection_at_injection_site": "no"})
    assert saved.status_code == 303, saved.text
    codes = {f["code"] for f in _check(site, _body(site, male, episode))["findings"]}
    assert not {c for c in codes if c.startswith(("screening.pregnant", "screening.breastfeeding"))}


def test_screening_api__a_male_patients_pregnancy_yes_is_kept_and_the_block_stands(site: Site) -> None:
    """The chosen behaviour: the API keeps accepting it (refusing would lose what was said), and
    the engine judges it like any answer, on the safe side."""
    male, episode = _patient(site, "M-3", screened_days_before=None, sex="male")
    body = {"patient_id": male, "date": str(DAY), "pregnant": True, "breastfeeding": False}
    saved = site.client.post("/api/screenings", json=body, headers=site.bearer("staff"))
    assert saved.status_code == 201, saved.text
    decision = _check(site, _body(site, male, episode))
    assert decision["decision"] == "block"
    assert "screening.pregnant" in {f["code"] for f in decision["findings"] if f["severity"] == "block"}
    # correcting that record on the page shows the answer it holds: it is never dropped unseen
    log_in(site, "staff")
    form = site.client.get(f"/patients/{male}/records/screening/{saved.json()['id']}/correct").text
    assert re.search(r'<input type="radio" name="pregnant" value="yes"\s+checked', form), form
    assert "breastfeeding" in _radios(form) and 'id="not-asked"' not in form
