"""The lost update (QA B5): two people correcting one record from the same version. The second
to save is refused (409, who changed it and when), nothing of it is written, on the API (If-Match
or ``version``; a read's ETag) and on the pages (the version the form was opened at, posted back;
the form shown again with what was typed and a link to the current version)."""

from __future__ import annotations

from typing import Any

from web.conftest import Site, email, log_in
from web.test_corrections_pages import _at, _form_fields, _screening, _stored

STALE = "your changes were not saved. Open it again to see the current version."


def _body(site: Site, *medications: str, **extra: Any) -> dict[str, Any]:
    data = {"patient_id": site.world.patient_id, "date": "2026-03-01", "medications": list(medications)}
    return {"data": data, "reason": "medications asked again"} | extra


def _history(site: Site, screening_id: str) -> list[list[str]]:
    response = site.client.get(f"/api/screenings/{screening_id}/history", headers=site.bearer("physician"))
    return [v["data"]["medications"] for v in response.json()]


def test_api__a_read_gives_the_version_as_etag_and_a_stale_if_match_is_409(site: Site) -> None:
    screening = _screening(site)
    path = f"/api/screenings/{screening['id']}"
    read = site.client.get(path, headers=site.bearer("physician"))
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    physician = site.bearer("physician") | {"If-Match": read.headers["etag"]}
    saved = site.client.put(path, json=_body(site, "ibuprofen 400 mg", "warfarin 5 mg"), headers=physician)
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"2"' and saved.json()["version"] == 2
    before = _stored(site)
    staff = site.bearer("staff") | {"If-Match": '"1"'}  # the staff member read version 1 too
    stale = site.client.put(path, json=_body(site, "ibuprofen 400 mg"), headers=staff)
    assert stale.status_code == 409, stale.text
    problem = stale.json()
    assert problem["title"] == "Changed since you read it"
    assert problem["errors"][0]["field"] == "version"
    message = problem["errors"][0]["message"]
    assert message.startswith(f"This screening was changed by {email('physician')} at ") and message.endswith(
        STALE
    )
    assert stale.headers["etag"] == '"2"'  # the current version, to read again
    assert _stored(site) == before  # nothing written
    # the body's version alike; and a withdrawal from a stale version
    again = site.client.put(path, json=_body(site, "ibuprofen", version=1), headers=site.bearer("staff"))
    assert again.status_code == 409
    withdraw = site.client.post(f"{path}/withdraw", json={"reason": "dup"}, headers=staff)
    assert withdraw.status_code == 409
    assert _stored(site) == before
    assert _history(site, screening["id"]) == [["ibuprofen 400 mg"], ["ibuprofen 400 mg", "warfarin 5 mg"]]


def test_api__version_optional_and_bad_if_match_named(site: Site) -> None:
    screening = _screening(site)
    path = f"/api/screenings/{screening['id']}"
    bad = site.client.put(
        path, json=_body(site, "a"), headers=site.bearer("staff") | {"If-Match": "yesterday"}
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "If-Match"
    both = site.client.put(
        path, json=_body(site, "a", version=2), headers=site.bearer("staff") | {"If-Match": '"1"'}
    )
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "version"
    # without a version (older clients): made to the current version, as before
    plain = site.client.put(path, json=_body(site, "a"), headers=site.bearer("staff"))
    assert plain.status_code == 200 and plain.json()["version"] == 2
    weak = site.client.put(path, json=_body(site, "b"), headers=site.bearer("staff") | {"If-Match": 'W/"2"'})
    assert weak.status_code == 200 and weak.headers["etag"] == '"3"'
    withdrawn = site.client.post(
        f"{path}/withdraw", json={"reason": "entered twice", "version": 3}, headers=site.bearer("staff")
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn"] is True


def test_page__the_second_correction_from_the_same_version_is_refused_with_the_form_kept(site: Site) -> None:
    screening = _screening(site)
    path = _at(site, "screening", screening["id"], "correct")
    log_in(site, "staff")
    opened = _form_fields(site.client.get(path).text)  # the staff member opens the form at version 1
    assert opened["version"] == "1"
    # meanwhile the physician adds warfarin (through the API here; the page does the same)
    warfarin = _body(site, "ibuprofen 400 mg", "warfarin 5 mg")
    saved = site.client.put(
        f"/api/screenings/{screening['id']}", json=warfarin, headers=site.bearer("physician")
    )
    assert saved.status_code == 200
    before = _stored(site)
    stale = opened | {
        "breastfeeding": "no",
        "medications": "ibuprofen 200 mg",
        "reason": "breastfeeding asked",
    }
    response = site.client.post(path, data=stale)
    assert response.status_code == 409
    assert (
        f"This screening was changed by {email('physician')} at " in response.text and STALE in response.text
    )
    assert "ibuprofen 200 mg" in response.text and "breastfeeding asked" in response.text  # kept
    assert f'href="{_at(site, "screening", screening["id"], "history")}"' in response.text
    assert "Nothing was saved" in response.text
    assert _stored(site) == before
    # posting the shown form again is still refused: it carries the version it was opened at
    shown = _form_fields(response.text)
    assert shown["version"] == "1"
    assert site.client.post(path, data=shown).status_code == 409
    assert _history(site, screening["id"]) == [["ibuprofen 400 mg"], ["ibuprofen 400 mg", "warfarin 5 mg"]]
    # opened again, at version 2 with warfarin, the change is saved on top of it
    current = _form_fields(site.client.get(path).text)
    assert current["version"] == "2" and "warfarin 5 mg" in current["medications"]
    done = site.client.post(path, data=current | {"breastfeeding": "no", "reason": "breastfeeding asked"})
    assert done.status_code == 303
    assert _history(site, screening["id"])[-1] == ["ibuprofen 400 mg", "warfarin 5 mg"]


def test_page__a_withdrawal_confirmed_after_a_correction_is_refused(site: Site) -> None:
    screening = _screening(site)
    path = _at(site, "screening", screening["id"], "withdraw")
    log_in(site, "staff")
    opened = _form_fields(site.client.get(path).text)
    assert opened["version"] == "1"
    corrected = site.client.put(
        f"/api/screenings/{screening['id']}", json=_body(site, "warfarin"), headers=site.bearer("physician")
    )
    assert corrected.status_code == 200
    before = _stored(site)
    response = site.client.post(path, data=opened | {"reason": "entered twice"})
    assert response.status_code == 409
    assert f"changed by {email('physician')} at " in response.text and "entered twice" in response.text
    assert _stored(site) == before
