"""Correcting a patient, an episode and an adverse event on their own forms: opening Correct and
saving unchanged keeps the data; a correction is a new version with its reason; a missing reason,
a wrong role or a missing CSRF token write nothing."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from bontrack import records
from bontrack.injections.models import AdverseEventRow
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.records import VersionedRow
from bontrack.storage.engine import transaction
from bontrack.web.plain import label
from web.conftest import Site, log_in
from web.test_corrections_pages import _api, _at, _session, _stored

ROWS: dict[str, type[VersionedRow]] = {
    "patient": PatientRow,
    "episode": EpisodeRow,
    "adverse_event": AdverseEventRow,
}


def _posted(page: str) -> list[tuple[str, str]]:
    """What a browser posts from the page's correction form: inputs, ticked boxes, chosen
    options and textareas, in order, a name as often as it is given."""
    form = re.search(r'<form method="post" action="[^"]*/correct".*?</form>', page, re.S)
    assert form, "no correction form on the page"
    body = form.group(0)
    fields: list[tuple[str, str]] = []
    for tag in re.findall(r"<input [^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag):
            continue
        fields.append((name.group(1), html.unescape(value.group(1)) if value else ""))
    for name, options in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields.append((name, html.unescape(chosen.group(1)) if chosen else ""))
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S):
        fields.append((name, html.unescape(text)))
    return fields


def _with(fields: list[tuple[str, str]], **changed: str) -> list[tuple[str, str]]:
    """The fields with some values replaced (or added)."""
    out = [(k, changed.get(k, v)) for k, v in fields]
    return out + [(k, v) for k, v in changed.items() if k not in dict(fields)]


def _send(site: Site, path: str, fields: list[tuple[str, str]]) -> Any:
    """Post the fields as a browser does (a name as often as it is given)."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return site.client.post(path, content=urlencode(fields), headers=form)


def _versions(site: Site, kind: str, record_id: str) -> list[VersionedRow]:
    with transaction(site.engine) as db:
        rows = records.history(db, row_cls=ROWS[kind], record_id=record_id, actor="test")
        db.expunge_all()
        return rows


def _adverse_event(site: Site) -> str:
    session = _session(site)
    event = {
        "patient_id": site.world.patient_id,
        "session_id": session["id"],
        "event": "neck weakness & dysphagia",
        "onset_date": "2026-03-20",
        "reported_date": "2026-03-22",
        "severity": "mild",
        "serious": False,
        "outcome": "resolved\nwithout treatment",
    }
    return str(_api(site, "/api/adverse-events", event, role="staff")["id"])


def _episode(site: Site) -> str:
    """An episode whose lists are not in the form's order: ticked ones and typed ones mixed."""
    episode = {
        "patient_id": site.world.patient_id,
        "diagnosis_codes": [
            {"code": "M79.12", "label": "trapezius myalgia"},
            {"code": "M54.2", "label": ""},
            {"code": "G44.209"},
        ],
        "pain_onset_date": "2025-06-01",
        "conservative_care": ["Massage", "NSAIDs", "yoga, twice a week", "Massage"],
        "conservative_care_weeks": 8.5,
    }
    return str(_api(site, "/api/episodes", episode)["id"])


# (kind, role allowed to correct, role refused, the record's id, a field to change and its new value)
CASES = {
    "patient": ("staff", "admin", lambda site: site.world.patient_id, "name", "Test Patient-Jones"),
    "episode": ("physician", "staff", lambda site: site.world.episode_id, "pain_onset_date", "2025-02-10"),
    "episode_unordered": ("physical_therapist", "staff", _episode, "conservative_care_weeks", "9"),
    "adverse_event": ("staff", "admin", _adverse_event, "severity", "moderate"),
}


def _kind(case: str) -> str:
    return case.removesuffix("_unordered")


@pytest.mark.parametrize("case", CASES)
def test_correct__unchanged_round_trip_keeps_the_data(site: Site, case: str) -> None:
    """The form sent back as it opened is the record as stored: a correction that changes
    nothing, refused as such (a form that lost or reordered anything would save a change)."""
    role, _refused, make, _field, _value = CASES[case]
    kind, record_id = _kind(case), make(site)
    log_in(site, role)
    path = _at(site, kind, record_id, "correct")
    form = site.client.get(path)
    assert form.status_code == 200 and "Reason for correction" in form.text
    refused = _send(site, path, _with(_posted(form.text), reason="checked, nothing wrong"))
    assert refused.status_code == 400, refused.text
    assert "Nothing was changed; change at least one field before saving a correction" in refused.text
    (only,) = _versions(site, kind, record_id)
    assert only.version == 1


@pytest.mark.parametrize("case", CASES)
def test_correct__a_change_is_version_2_with_its_reason(site: Site, case: str) -> None:
    role, _refused, make, field, value = CASES[case]
    kind, record_id = _kind(case), make(site)
    log_in(site, role)
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    path = _at(site, kind, record_id, "correct")
    assert f'href="{path}"' in chart  # the chart links to the correction
    original = _versions(site, kind, record_id)[0].data
    fields = _posted(site.client.get(path).text)
    saved = _send(site, path, _with(fields, **{field: value, "reason": "typo at entry"}))
    assert saved.status_code == 303, saved.text
    first, second = _versions(site, kind, record_id)
    assert first.data == original and first.version == 1  # the earlier version is unchanged
    assert str(second.data[field]).removesuffix(".0") == value and second.reason == "typo at entry"
    assert {k: v for k, v in second.data.items() if k != field} == {
        k: v for k, v in original.items() if k != field
    }
    history = site.client.get(_at(site, kind, record_id, "history")).text
    version_2 = history.split('id="v2"')[1]
    assert "typo at entry" in version_2
    assert re.findall(r'<th scope="row">([^<]+)</th>', version_2) == [label(field)]  # in words


@pytest.mark.parametrize("case", ["patient", "episode", "adverse_event"])
def test_correct__missing_reason_is_inline_and_writes_nothing(site: Site, case: str) -> None:
    role, _refused, make, field, value = CASES[case]
    kind, record_id = _kind(case), make(site)
    log_in(site, role)
    path = _at(site, kind, record_id, "correct")
    fields = _posted(site.client.get(path).text)
    before = _stored(site)
    response = _send(site, path, _with(fields, **{field: value, "reason": " "}))
    assert response.status_code == 400
    assert 'id="err-reason"' in response.text and 'href="#f-reason">Reason' in response.text
    typed = f'value="{value}" selected' if field == "severity" else f'value="{value}"'
    assert typed in response.text  # what was typed is kept
    assert _stored(site) == before
    assert len(_versions(site, kind, record_id)) == 1


@pytest.mark.parametrize("case", ["patient", "episode", "adverse_event"])
def test_correct__other_roles_refused(site: Site, case: str) -> None:
    role, refused, make, field, value = CASES[case]
    kind, record_id = _kind(case), make(site)
    log_in(site, role)
    path = _at(site, kind, record_id, "correct")
    fields = _posted(site.client.get(path).text)
    site.client.cookies.clear()
    log_in(site, refused)
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert f'href="{path}"' not in chart
    assert site.client.get(path).status_code == 403
    before = _stored(site)
    response = _send(site, path, _with(fields, **{field: value, "reason": "x"}))
    assert response.status_code == 403 and "Not allowed" in response.text
    assert _stored(site) == before


@pytest.mark.parametrize("case", ["patient", "episode", "adverse_event"])
def test_correct__without_csrf_token_refused(site: Site, case: str) -> None:
    role, _refused, make, field, value = CASES[case]
    kind, record_id = _kind(case), make(site)
    log_in(site, role)
    path = _at(site, kind, record_id, "correct")
    fields = [(k, v) for k, v in _posted(site.client.get(path).text) if k != "csrf_token"]
    before = _stored(site)
    for posted in (fields, [*fields, ("csrf_token", "forged")]):
        response = _send(site, path, _with(posted, **{field: value, "reason": "x"}))
        assert response.status_code == 403 and "Form expired" in response.text
    assert _stored(site) == before


def test_episode_correct__typed_code_error_lands_on_its_box(site: Site) -> None:
    log_in(site, "physician")
    path = _at(site, "episode", site.world.episode_id, "correct")
    fields = _posted(site.client.get(path).text)
    before = _stored(site)
    response = _send(site, path, _with(fields, diagnosis_other="M54.2\nnot-a-code", reason="x"))
    assert response.status_code == 400
    assert 'id="err-diagnosis_other"' in response.text and "not-a-code" in response.text
    assert _stored(site) == before


def test_episode_correct__pick_lists_ticked_in_order_the_rest_typed(site: Site) -> None:
    log_in(site, "physician")
    world = _posted(site.client.get(_at(site, "episode", site.world.episode_id, "correct")).text)
    assert [v for k, v in world if k == "diagnosis_codes"] == ["M54.2", "M79.12"]
    assert dict(world)["diagnosis_other"] == ""
    assert not [v for k, v in world if k == "conservative_care"]  # "home exercise" comes first
    assert dict(world)["conservative_care_other"] == "home exercise\nNSAIDs"
    mixed = _posted(site.client.get(_at(site, "episode", _episode(site), "correct")).text)
    assert [v for k, v in mixed if k == "diagnosis_codes"] == ["M79.12"]
    assert dict(mixed)["diagnosis_other"] == "M54.2\nG44.209"
    assert [v for k, v in mixed if k == "conservative_care"] == ["Massage"]
    assert dict(mixed)["conservative_care_other"] == "NSAIDs\nyoga, twice a week\nMassage"
    assert dict(mixed)["conservative_care_weeks"] == "8.5"
