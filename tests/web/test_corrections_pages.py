"""Correct, Withdraw and History on the chart's pages: prefilled forms with a required reason,
CSRF and roles, inline errors with nothing written, withdrawn records hidden unless asked for."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.injections.models import InjectionSessionRow
from bontrack.kinds import KINDS
from bontrack.screening.models import ScreeningRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, csrf_from, log_in


def _stored(site: Site) -> tuple[int, int]:
    """Every stored version of every record type, and the audit entries of writes done (not of
    reads, nor of denied attempts)."""
    with transaction(site.engine) as db:
        rows = sum(int(db.scalar(select(func.count()).select_from(k.row)) or 0) for k in KINDS)
        writes = db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action != "read", AuditEntry.outcome == "ok")
        )
    return rows, int(writes or 0)


def _count(site: Site, row_cls: type) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(row_cls)) or 0)


def _api(site: Site, path: str, body: dict[str, Any], role: str = "physician") -> dict[str, Any]:
    response = site.client.post(path, json=body, headers=site.bearer(role))
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def _screening(site: Site) -> dict[str, Any]:
    body = {"patient_id": site.world.patient_id, "date": "2026-03-01", "medications": ["ibuprofen 400 mg"]}
    return _api(site, "/api/screenings", body, role="staff")


def _session(site: Site) -> dict[str, Any]:
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    return _api(site, "/api/sessions", body)


def _at(site: Site, kind: str, record_id: str, action: str) -> str:
    return f"/patients/{site.world.patient_id}/records/{kind}/{record_id}/{action}"


def _form_fields(html: str) -> dict[str, str]:
    """The values a browser would post back from a form page (inputs, checked boxes, selected
    options, textareas), enough for the forms used here."""
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag):
            continue
        fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[name] = text
    return fields


def test_chart__actions_by_role(site: Site) -> None:
    session = _session(site)
    screening = _screening(site)
    log_in(site, "physician")
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    for action in ("correct", "withdraw", "history"):
        assert _at(site, "injection_session", session["id"], action) in chart
    site.client.cookies.clear()
    log_in(site, "physical_therapist")
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert _at(site, "injection_session", session["id"], "history") in chart
    assert _at(site, "injection_session", session["id"], "correct") not in chart
    assert _at(site, "screening", screening["id"], "withdraw") not in chart  # staff and physicians only
    correct = site.client.get(_at(site, "injection_session", session["id"], "correct"))
    assert correct.status_code == 403 and "physicians" in correct.text


def test_correct_form__prefilled_and_a_blank_reason_writes_nothing(site: Site) -> None:
    screening = _screening(site)
    log_in(site, "staff")
    path = _at(site, "screening", screening["id"], "correct")
    form = site.client.get(path)
    assert form.status_code == 200
    assert "ibuprofen 400 mg" in form.text and "Reason for correction" in form.text
    fields = _form_fields(form.text)
    assert fields["date"] == "2026-03-01"
    before = _stored(site)
    response = site.client.post(path, data=fields | {"medications": "ibuprofen 200 mg", "reason": "  "})
    assert response.status_code == 400
    assert 'id="err-reason"' in response.text
    assert "ibuprofen 200 mg" in response.text  # what was typed is kept
    assert _stored(site) == before
    saved = site.client.post(
        path, data=fields | {"medications": "ibuprofen 200 mg", "reason": "dose misheard"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/patients/{site.world.patient_id}?saved=screening_corrected"
    history = site.client.get(
        f"/api/screenings/{screening['id']}/history", headers=site.bearer("staff")
    ).json()
    assert [v["data"]["medications"] for v in history] == [["ibuprofen 400 mg"], ["ibuprofen 200 mg"]]
    assert history[1]["reason"] == "dose misheard"


def test_correct_form__bad_field_is_inline_and_writes_nothing(site: Site) -> None:
    screening = _screening(site)
    log_in(site, "staff")
    path = _at(site, "screening", screening["id"], "correct")
    fields = _form_fields(site.client.get(path).text)
    before = _stored(site)
    response = site.client.post(path, data=fields | {"date": "someday", "reason": ""})
    assert response.status_code == 400
    assert 'id="err-date"' in response.text and 'id="err-reason"' in response.text
    assert _stored(site) == before


def test_correct_form__without_csrf_token_is_refused(site: Site) -> None:
    screening = _screening(site)
    log_in(site, "staff")
    path = _at(site, "screening", screening["id"], "correct")
    fields = _form_fields(site.client.get(path).text)
    before = _stored(site)
    response = site.client.post(path, data=fields | {"csrf_token": "forged", "reason": "x"})
    assert response.status_code == 403
    assert _stored(site) == before


def test_session_correction__shows_the_decision_and_a_block_needs_an_override(site: Site) -> None:
    session = _session(site)
    log_in(site, "physician")
    path = _at(site, "injection_session", session["id"], "correct")
    form = site.client.get(path)
    assert form.status_code == 200
    assert 'data-correcting="' + session["id"] + '"' in form.text
    assert 'class="decision allow"' in form.text or 'class="decision warn"' in form.text  # judged again
    fields = _form_fields(form.text)
    assert fields["sites[0].units"] == "25.0" and fields["lot"] == "C1234"
    rows = _count(site, InjectionSessionRow)
    blocked = fields | {"sites[0].units": "400", "sites[1].units": "400", "reason": "dose entered wrongly"}
    refused = site.client.post(path, data=blocked)
    assert refused.status_code == 409
    assert "To save the correction anyway" in refused.text and 'class="decision block"' in refused.text
    # one checkbox per block, in the finding's words
    assert 'name="override.acknowledged" value="dose.session_max"' in refused.text
    assert _count(site, InjectionSessionRow) == rows
    override = {"override.clinician_id": site.world.clinician_id, "override.reason": "agreed with the lead"}
    unticked = site.client.post(path, data=blocked | override)
    assert unticked.status_code == 409 and "Tick each block you override; not ticked:" in unticked.text
    ticked = {"override.acknowledged": ["dose.exceeds_vials", "dose.session_max"]}  # two boxes ticked
    filler = override | {"override.reason": "override override override"}  # one word, repeated
    weak = site.client.post(path, data=blocked | filler | ticked)
    assert weak.status_code == 409
    assert "The reason for overriding has too few words of your own: 1 different word, 8 letters" in weak.text
    saved = site.client.post(path, data=blocked | override | ticked)
    assert saved.status_code == 303, saved.text
    current = site.client.get(f"/api/sessions/{session['id']}", headers=site.bearer("staff")).json()
    assert current["version"] == 2 and current["data"]["decision"]["decision"] == "block"


def test_withdraw__confirmation_then_hidden_unless_asked_for(site: Site) -> None:
    screening = _screening(site)
    log_in(site, "staff")
    path = _at(site, "screening", screening["id"], "withdraw")
    page = site.client.get(path)
    assert page.status_code == 200 and "Reason for withdrawing" in page.text
    token = csrf_from(page.text)
    before = _stored(site)
    assert site.client.post(path, data={"reason": "entered twice"}).status_code == 403  # no CSRF token
    blank = site.client.post(path, data={"reason": " ", "csrf_token": token})
    assert blank.status_code == 400 and 'id="err-reason"' in blank.text
    assert _stored(site) == before
    done = site.client.post(path, data={"reason": "entered twice", "csrf_token": token})
    assert done.status_code == 303
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "ibuprofen 400 mg" not in chart
    shown = site.client.get(f"/patients/{site.world.patient_id}?withdrawn=1").text
    assert re.search(r"<del>.*ibuprofen 400 mg.*</del>", shown, re.S)
    assert "entered twice" in shown
    assert _count(site, ScreeningRow) == 3  # the world's screening, and both versions of this one


def test_withdraw__session_with_an_outcome_is_refused_on_the_page(site: Site) -> None:
    session = _session(site)
    followup = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-04-13",
        "answers": {"1": 4},
        "session_id": session["id"],
        "weeks_after_session": 6,
    }
    _api(site, "/api/outcomes", followup, role="staff")
    log_in(site, "physician")
    path = _at(site, "injection_session", session["id"], "withdraw")
    token = csrf_from(site.client.get(path).text)
    before = _stored(site)
    response = site.client.post(path, data={"reason": "wrong patient", "csrf_token": token})
    assert response.status_code == 409
    assert "1 outcome" in response.text and "Nothing was saved" in response.text
    assert _stored(site) == before


def test_history__who_when_why_and_only_the_changed_fields(site: Site) -> None:
    screening = _screening(site)
    corrected = {"patient_id": site.world.patient_id, "date": "2026-03-01", "medications": ["warfarin"]}
    response = site.client.put(
        f"/api/screenings/{screening['id']}",
        json={"data": corrected, "reason": "wrong drug noted"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 200
    log_in(site, "physical_therapist")
    page = site.client.get(_at(site, "screening", screening["id"], "history"))
    assert page.status_code == 200
    version_2 = page.text.split('id="v2"')[1]
    assert "wrong drug noted" in version_2 and "physician@clinic.example.org" in version_2
    changed = re.findall(r'<th scope="row">([^<]+)</th>', version_2)
    assert changed == ["Medications"]  # by its label; the date did not change: not listed
    assert "ibuprofen 400 mg" in version_2 and "warfarin" in version_2
    with transaction(site.engine) as db:
        reads = db.scalars(
            select(AuditEntry.version).where(
                AuditEntry.record_id == screening["id"],
                AuditEntry.detail == "history",
                AuditEntry.action == "read",
            )
        ).all()
    assert sorted(reads) == [1, 2]


def test_history__researcher_refused_and_another_patients_record_not_found(site: Site) -> None:
    screening = _screening(site)
    log_in(site, "researcher")
    assert site.client.get(_at(site, "screening", screening["id"], "history")).status_code == 403
    site.client.cookies.clear()
    log_in(site, "staff")
    other = site.client.post(
        "/api/patients",
        json={"record_number": "P-777", "name": "Other", "birth_date": "1960-01-01", "sex": "male"},
        headers=site.bearer("staff"),
    ).json()
    wrong = f"/patients/{other['id']}/records/screening/{screening['id']}/history"
    assert site.client.get(wrong).status_code == 404
    assert site.client.get(_at(site, "nonsense", screening["id"], "history")).status_code == 404


def test_history__first_version_folded_corrections_shown(site: Site) -> None:
    session = _session(site)
    log_in(site, "physician")
    path = _at(site, "injection_session", session["id"], "correct")
    fields = _form_fields(site.client.get(path).text)
    saved = site.client.post(path, data=fields | {"lot": "C9999", "reason": "lot misread"})
    assert saved.status_code == 303, saved.text
    page = site.client.get(_at(site, "injection_session", session["id"], "history")).text
    version_1, version_2 = page.split('id="v1"')[1].split('id="v2"')
    folded = re.search(
        r"<details class=\"fields\"><summary>All (\d+) fields as recorded</summary>(.*?)</details>",
        version_1,
        re.S,
    )
    assert folded, "version 1's listing is not folded"
    rows = re.findall(r'<th scope="row">([^<]+)</th>', folded.group(2))
    assert len(rows) == int(folded.group(1)) and "Decision: decision" in rows  # every field, the decision too
    assert "<details" not in version_2  # a correction shows its changes at once
    assert re.findall(r'<th scope="row">([^<]+)</th>', version_2) == ["Lot"]


def test_correct_form__nothing_changed_is_refused_in_words_and_writes_nothing(site: Site) -> None:
    screening = _screening(site)
    session = _session(site)
    log_in(site, "physician")
    for kind, record in (("screening", screening), ("injection_session", session)):
        path = _at(site, kind, record["id"], "correct")
        fields = _form_fields(site.client.get(path).text)
        before = _stored(site)
        response = site.client.post(path, data=fields | {"reason": "looked at it again"})
        assert response.status_code == 400, kind
        assert "Nothing was changed; change at least one field before saving a correction" in response.text
        assert _stored(site) == before
