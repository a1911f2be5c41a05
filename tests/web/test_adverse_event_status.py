"""An adverse event's coded status and relatedness (QA pass 4, findings 7 and 8): saved and
checked on every face, shown in words, "open" by the status (a record saved without one by its
note's first word, said "status not recorded"), sent over FHIR, and the open or serious events of
earlier sessions shown on the injection session form."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import update

from bontrack.fhir.deidentify import ALLOWED
from bontrack.fhir.mapping.clinical import adverse_event
from bontrack.injections import ae_terms
from bontrack.injections.models import AdverseEventRow
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import get_adverse_event, report_adverse_event
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, saved_session
from web.conftest import Site, csrf_from, log_in

ONSET = DAY + dt.timedelta(days=3)


def _event(site: Site, session_id: str, **fields: Any) -> str:
    data = {
        "patient_id": site.world.patient_id,
        "session_id": session_id,
        "event": "dysphagia",
        "onset_date": ONSET,
        "reported_date": ONSET,
        "severity": "mild",
    } | fields
    with transaction(site.engine) as db:
        return report_adverse_event(db=db, actor=ACTOR, data=AdverseEventCreate(**data)).id


def _session(site: Site) -> str:
    with transaction(site.engine) as db:
        return saved_session(db, site.world).id


def _visible(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    body = re.sub(r"</?(em|strong|bdi|span|a)\b[^>]*>", "", body)  # inline: no space of their own
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _banner_events(site: Site) -> str:
    page = site.client.get(f"/patients/{site.world.patient_id}").text
    found = re.search(r"<dt>Open adverse events</dt><dd>(.*?)</dd>", page, re.DOTALL)
    assert found, "no open adverse events on the banner"
    return _visible(found.group(1))


@pytest.mark.parametrize(
    ("status", "outcome", "open_"),
    [
        ("resolved", "recovered fully", False),
        ("resolvedWithSequelae", "", False),
        ("fatal", "", False),
        ("recovering", "", True),
        ("ongoing", "resolved on the left, not the right", True),  # the status decides, not the note
        ("unknown", "", True),
        (None, "Resolved", False),  # saved before the status: the note's first word, as before
        (None, "recovered fully", True),
        (None, "fully resolved", True),
        (None, "", True),
    ],
)
def test_open__by_the_status_else_by_the_note_as_before(
    status: str | None, outcome: str, open_: bool
) -> None:
    data = AdverseEventCreate.model_validate(
        {
            "patient_id": "00000000-0000-4000-8000-000000000001",
            "session_id": "00000000-0000-4000-8000-000000000002",
            "event": "dysphagia",
            "onset_date": "2026-03-05",
            "reported_date": "2026-03-05",
            "severity": "mild",
            "status": status,
            "outcome": outcome,
        }
    )
    assert ae_terms.is_open(data) is open_
    assert ae_terms.status_text(data) == (
        ae_terms.NOT_RECORDED if status is None else ae_terms.words("status", status)
    )


def test_terms__every_code_has_words_and_a_fhir_code_in_the_knowledge_base() -> None:
    for field in ("status", "relatedness"):
        terms = ae_terms.terms(field)
        assert [c for c, _w in ae_terms.choices(field)] == list(terms.words) == list(terms.fhir)
        assert all(w.strip() for w in terms.words.values()), terms.words
    assert ae_terms.words("status", "resolvedWithSequelae") == "Resolved with lasting effects"
    assert ae_terms.words("relatedness", "probable") == "Probable"
    assert ae_terms.words("status", "odd") == "odd"  # never raises: every stored value renders


def test_api__status_and_relatedness_are_saved_and_a_bad_code_is_refused_in_words(site: Site) -> None:
    session_id = _session(site)
    body = {
        "patient_id": site.world.patient_id,
        "session_id": session_id,
        "event": "dysphagia",
        "onset_date": str(ONSET),
        "reported_date": str(ONSET),
        "severity": "moderate",
        "status": "ongoing",
        "relatedness": "probable",
        "outcome": "soft diet",
    }
    headers = site.bearer("physician")
    saved = site.client.post("/api/adverse-events", json=body, headers=headers)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["data"]["status"], saved.json()["data"]["relatedness"]) == ("ongoing", "probable")
    for field, bad, words in (
        ("status", "recovered", "Resolved with lasting effects"),
        ("relatedness", "likely", "Cannot be assessed"),
    ):
        refused = site.client.post("/api/adverse-events", json=body | {field: bad}, headers=headers)
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert error["field"] == field
        assert words in error["message"] and "as codes:" in error["message"], error
    left_out = site.client.post(
        "/api/adverse-events",
        json={k: v for k, v in body.items() if k not in ("status", "relatedness")},
        headers=headers,
    )
    assert left_out.status_code == 201 and left_out.json()["data"]["status"] is None


def test_form__words_not_codes_a_blank_choice_and_a_bad_code_said_in_words(site: Site) -> None:
    session_id = _session(site)
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/adverse-events/new"
    form = site.client.get(path).text
    shown = _visible(form)
    assert "Resolved with lasting effects" in shown and "resolvedWithSequelae" not in shown
    assert "Notes on the outcome" in shown and "Probable" in shown
    assert form.count('<option value="">Not recorded yet</option>') == 2
    fields = {
        "csrf_token": csrf_from(form),
        "session_id": session_id,
        "event": "neck weakness",
        "onset_date": str(ONSET),
        "reported_date": str(ONSET),
        "severity": "mild",
        "status": "",
        "relatedness": "possible",
        "outcome": "",
    }
    saved = site.client.post(path, data=fields)
    assert saved.status_code == 303, _visible(saved.text)
    bad = site.client.post(path, data=fields | {"status": "resolvedWithSequelae!"})
    assert bad.status_code in (400, 422)
    text = _visible(bad.text)
    assert "Status now must be one of: Resolved, Recovering" in text, text
    assert "resolvedWithSequelae" not in text.replace("resolvedWithSequelae!", "")
    with transaction(site.engine) as db:
        rows = db.query(AdverseEventRow).all()
    assert [(r.data.get("status"), r.data.get("relatedness")) for r in rows] == [(None, "possible")]


def test_banner__recovered_fully_with_status_resolved_is_not_open_and_guesses_are_said(site: Site) -> None:
    session_id = _session(site)
    _event(site, session_id, event="neck weakness", status="resolved", outcome="recovered fully")
    _event(site, session_id, event="headache", outcome="recovered fully")  # saved without a status
    _event(site, session_id, event="neck pain", outcome="Resolved")  # the old rule: closed
    _event(site, session_id, event="dysphagia", status="ongoing", relatedness="probable", outcome="soft diet")
    log_in(site, "physician")
    events = _banner_events(site)
    assert "neck weakness" not in events and "neck pain" not in events
    assert f"headache (mild) since {ONSET} · status not recorded: recovered fully" in events
    assert f"dysphagia (mild) since {ONSET} · Ongoing: soft diet" in events
    timeline = _visible(site.client.get(f"/patients/{site.world.patient_id}?show=adverse_events").text)
    assert "Resolved: recovered fully" in timeline
    assert "Ongoing: soft diet · relation to the injection: Probable" in timeline
    assert "status not recorded: Resolved" in timeline  # the legacy record: shown, not guessed silently


def test_legacy__a_record_saved_before_the_fields_reads_and_renders_unchanged(site: Site) -> None:
    """A version stored without the fields (as every record before them): read with none, the
    first-word rule on the banner, and its FHIR resource as before (text only)."""
    session_id = _session(site)
    event_id = _event(site, session_id, event="odd ‮ text", outcome="not resolved ‮")
    with transaction(site.engine) as db:  # as stored before: no status, no relatedness keys
        row = db.query(AdverseEventRow).one()
        stored = {k: v for k, v in row.data.items() if k not in ("status", "relatedness")}
        db.execute(update(AdverseEventRow).where(AdverseEventRow.id == row.id).values(data=stored))
    with transaction(site.engine) as db:
        read = get_adverse_event(db=db, actor=ACTOR, event_id=event_id, field="id")
    assert (read.data.status, read.data.relatedness) == (None, None)
    resource = adverse_event(read)
    assert resource["outcome"] == {"text": "not resolved ‮"}
    assert "causality" not in resource["suspectEntity"][0]
    log_in(site, "physician")
    assert "status not recorded" in _banner_events(site)
    history = site.client.get(f"/patients/{site.world.patient_id}/records/adverse_event/{event_id}/history")
    assert history.status_code == 200


def test_correction__an_ongoing_event_corrected_to_resolved_leaves_the_banner(site: Site) -> None:
    session_id = _session(site)
    event_id = _event(site, session_id, status="ongoing", relatedness="possible")
    log_in(site, "physician")
    assert "dysphagia" in _banner_events(site)
    headers = site.bearer("physician")
    current = site.client.get(f"/api/adverse-events/{event_id}", headers=headers).json()
    corrected = current["data"] | {"status": "resolvedWithSequelae", "outcome": "slight hoarseness remains"}
    saved = site.client.put(
        f"/api/adverse-events/{event_id}",
        json={"data": corrected, "reason": "seen at week 6"},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert _banner_events(site) == "none"
    history = _visible(
        site.client.get(f"/patients/{site.world.patient_id}/records/adverse_event/{event_id}/history").text
    )
    assert "Ongoing Resolved with lasting effects" in history  # before and after, in words
    assert "resolvedWithSequelae" not in history
    page = site.client.get(f"/patients/{site.world.patient_id}/records/adverse_event/{event_id}/correct").text
    assert '<option value="resolvedWithSequelae" selected>' in page


def test_fhir__status_to_outcome_and_relatedness_to_causality(site: Site) -> None:
    session_id = _session(site)
    event_id = _event(
        site, session_id, status="resolvedWithSequelae", relatedness="probable", outcome="hoarse voice"
    )
    with transaction(site.engine) as db:
        resource = adverse_event(get_adverse_event(db=db, actor=ACTOR, event_id=event_id, field="id"))
    assert resource["outcome"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                "code": "resolvedWithSequelae",
            }
        ],
        "text": "hoarse voice",
    }
    (suspect,) = resource["suspectEntity"]
    assert suspect["instance"] == {"reference": f"MedicationAdministration/{session_id}"}
    assert suspect["causality"] == [
        {
            "assessment": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess",
                        "code": "probably-likely",
                    }
                ],
                "text": "Probable",
            }
        }
    ]
    allowed = ALLOWED["AdverseEvent"]
    assert "outcome.coding.code" in allowed and "outcome.text" not in allowed  # the notes stay out
    assert "suspectEntity.causality.assessment.coding.code" in allowed


def test_session_form__shows_open_and_serious_events_of_earlier_sessions(site: Site) -> None:
    session_id = _session(site)
    _event(site, session_id, event="dysphagia", status="ongoing", relatedness="probable")
    _event(site, session_id, event="anaphylaxis", severity="severe", serious=True, status="resolved")
    _event(site, session_id, event="headache", status="resolved")  # closed, not serious: not shown
    log_in(site, "physician")
    page = site.client.get(f"/patients/{site.world.patient_id}/sessions/new").text
    found = re.search(r'<div class="notice warn" id="earlier-events">(.*?)</div>', page, re.DOTALL)
    assert found, "no adverse events on the session form"
    shown = _visible(found.group(1))
    assert "Open or serious adverse events after earlier sessions" in shown
    assert (
        f"dysphagia (mild) since {ONSET} · after the session of {DAY} (onabotulinumtoxinA (Botox)) · Ongoing"
        " · relation to the injection: Probable"
    ) in shown
    assert f"anaphylaxis (severe, serious) since {ONSET}" in shown and "Resolved" in shown
    assert "headache" not in shown
    assert page.index('id="earlier-events"') < page.index('id="session-form"')  # near the top
    # the standing decision first (a block is read first), then the events
    assert page.index('id="standing"') < page.index('id="earlier-events"')
