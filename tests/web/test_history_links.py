"""A record's history page names the records it links to in words, not by their ids: the patient
by name and record number, the session by its date and product, the clinician by name, the
episode by its onset; a linked record that cannot be read (withdrawn, another clinic's, missing)
is still worded, never a failed page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.injections.models import AdverseEventRow
from bontrack.injections.service import withdraw_session
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, clinic_world, saved_session, session_input
from web.conftest import Site, email, log_in

SESSION = "the session of 2026-03-02 (onabotulinumtoxinA (Botox))"


def _api(site: Site, path: str, body: dict[str, Any], role: str = "physician") -> dict[str, Any]:
    response = site.client.post(path, json=body, headers=site.bearer(role))
    assert response.status_code in (200, 201), response.text
    saved: dict[str, Any] = response.json()
    return saved


def _session_and_event(site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    session = _api(
        site, "/api/sessions", session_input(site.world).model_dump(mode="json", exclude_none=True)
    )
    event = {
        "patient_id": site.world.patient_id,
        "session_id": session["id"],
        "event": "neck weakness",
        "onset_date": "2026-03-09",
        "reported_date": "2026-03-10",
        "severity": "mild",
    }
    return session, _api(site, "/api/adverse-events", event)


def _history(site: Site, kind: str, record_id: str) -> str:
    page = site.client.get(f"/patients/{site.world.patient_id}/records/{kind}/{record_id}/history")
    assert page.status_code == 200, page.text
    return page.text


def _cells(html: str) -> dict[str, str]:
    """Each field's value as read (tags left out), by the field's label."""
    rows = re.findall(r'<th scope="row">([^<]+)</th><td[^>]*>(.*?)</td></tr>', html, re.S)
    return {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in rows}


def test_history_of_an_adverse_event__session_and_patient_in_words(site: Site) -> None:
    session, event = _session_and_event(site)
    log_in(site, "physician")
    page = _history(site, "adverse_event", event["id"])
    cells = _cells(page)
    assert cells["Patient"] == "Test Patient (P-001)"
    assert cells["After the injection session of"] == SESSION
    shown = re.sub(r"<[^>]+>", "", page)
    assert session["id"] not in shown and site.world.patient_id not in shown  # no id as text
    # each linked to its page: the chart at the session, and the chart
    assert f'href="/patients/{site.world.patient_id}?session={session["id"]}#bodymap"' in page
    assert f'href="/patients/{site.world.patient_id}"' in page


def test_history_of_a_session__injector_and_episode_in_words(site: Site) -> None:
    session, _event = _session_and_event(site)
    log_in(site, "physician")
    cells = _cells(_history(site, "injection_session", session["id"]))
    assert cells["Injecting physician"] == "Dr Ada Reyes"
    assert cells["Episode"].startswith("the episode from 20")
    assert cells["Patient"] == "Test Patient (P-001)"


def test_history__a_withdrawn_session_is_named_and_linked_to_its_history(site: Site) -> None:
    session, event = _session_and_event(site)
    headers = site.bearer("physician")
    for collection, record in (("adverse-events", event), ("sessions", session)):
        gone = site.client.post(
            f"/api/{collection}/{record['id']}/withdraw", json={"reason": "wrong patient"}, headers=headers
        )
        assert gone.status_code == 200, gone.text
    with transaction(site.engine) as db:  # another withdrawn session: not linked, so not read
        other = saved_session(db, site.world, day=DAY + dt.timedelta(days=120))
        withdraw_session(db=db, actor=ACTOR, session_id=other.id, reason="entered twice")
    log_in(site, "physician")
    page = _history(site, "adverse_event", event["id"])
    assert _cells(page)["After the injection session of"] == f"{SESSION} (withdrawn)"
    assert session["id"] in _reads(site) and other.id not in _reads(site)
    assert (
        f'href="/patients/{site.world.patient_id}/records/injection_session/{session["id"]}/history"' in page
    )


def test_history__a_missing_link_is_worded_not_a_failed_page(site: Site) -> None:
    """A registry imported from elsewhere may name a session this clinic cannot read."""
    _session, event = _session_and_event(site)
    with transaction(site.engine) as db:
        row = db.scalars(select(AdverseEventRow).where(AdverseEventRow.id == event["id"])).one()
        row.data = row.data | {"session_id": "imported-4d2f9a0b-0000-elsewhere"}
    log_in(site, "physician")
    cells = _cells(_history(site, "adverse_event", event["id"]))
    assert cells["After the injection session of"] == "an injection session not found (id imported…)"


def test_history__another_clinics_session_is_not_read_and_the_linked_reads_are_audited(site: Site) -> None:
    """The look-ups are the user's clinic's reads, audited as any read: a session of another
    clinic (named by a record imported from elsewhere) is not read, and is worded as not found."""
    session, event = _session_and_event(site)
    with transaction(site.engine) as db:
        elsewhere = saved_session(db, clinic_world(db, record_number="P-002"))
    log_in(site, "physician")
    before = _reads(site)
    _history(site, "adverse_event", event["id"])
    assert _reads(site).count(session["id"]) == before.count(session["id"]) + 1  # read once, audited
    with transaction(site.engine) as db:
        row = db.scalars(select(AdverseEventRow).where(AdverseEventRow.id == event["id"])).one()
        row.data = row.data | {"session_id": elsewhere.id}
    cells = _cells(_history(site, "adverse_event", event["id"]))
    assert (
        cells["After the injection session of"] == f"an injection session not found (id {elsewhere.id[:8]}…)"
    )
    assert elsewhere.id not in _reads(site)


def _reads(site: Site) -> list[str]:
    """The ids of the records the physician's user was audited as reading."""
    with transaction(site.engine) as db:
        return list(
            db.scalars(
                select(AuditEntry.record_id).where(
                    AuditEntry.actor == f"user:{email('physician')}", AuditEntry.action == "read"
                )
            )
        )


def test_who_recorded_each_version_is_in_words(site: Site) -> None:
    """Each version says who recorded it in words: a user by e-mail, a command as "the command
    line (login root)", never the actor's code ("cli:root", "user:...")."""
    session = _api(
        site, "/api/sessions", session_input(site.world).model_dump(mode="json", exclude_none=True)
    )
    with transaction(site.engine) as db:
        withdraw_session(db=db, actor="cli:root", session_id=session["id"], reason="entered twice")
    log_in(site, "physician")
    shown = re.sub(r"<[^>]+>", "", _history(site, "injection_session", session["id"]))
    assert f"UTC · by {email('physician')}" in shown
    assert "UTC · by the command line (login root)" in shown
    assert "cli:" not in shown and "user:" not in shown


def test_history__a_link_corrected_to_another_record_shows_both_in_words(site: Site) -> None:
    """An adverse event moved from one session to another: the correction reads "the session of
    <A>" before and "the session of <B>" after, both linked to the chart at that session."""
    first, event = _session_and_event(site)
    with transaction(site.engine) as db:
        second = saved_session(db, site.world, day=DAY + dt.timedelta(days=100))
    began = second.data.date + dt.timedelta(days=7)
    data = {k: v for k, v in event["data"].items() if v is not None} | {
        "session_id": second.id,
        "onset_date": str(began),
        "reported_date": str(began + dt.timedelta(days=1)),
    }
    moved = site.client.put(
        f"/api/adverse-events/{event['id']}",
        json={"data": data, "reason": "belongs to the later session"},
        headers=site.bearer("physician"),
    )
    assert moved.status_code == 200, moved.text
    log_in(site, "physician")
    page = _history(site, "adverse_event", event["id"])
    corrected = page[page.index('id="v2"') :]
    (before, after) = re.findall(
        r'<th scope="row">After the injection session of</th><td class="before">(.*?)</td>'
        r'<td class="after">(.*?)</td>',
        corrected,
        re.S,
    )[0]
    assert re.sub(r"<[^>]+>", "", before).strip() == SESSION
    later_words = f"the session of {second.data.date} (onabotulinumtoxinA (Botox))"
    assert re.sub(r"<[^>]+>", "", after).strip() == later_words
    assert f'?session={first["id"]}#bodymap"' in before and f"?session={second.id}#bodymap" in after


def test_history__the_overriding_physician_is_named(site: Site) -> None:
    """A session saved over a block: its history names the physician who overrode it, not an id."""
    body = session_input(site.world, units=400).model_dump(mode="json", exclude_none=True)
    body["override"] = {
        "clinician_id": site.world.clinician_id,
        "reason": "patient informed; dose agreed with the clinic lead",
        "acknowledged": ["dose.exceeds_vials", "dose.session_max"],
    }
    session = _api(site, "/api/sessions", body)
    log_in(site, "physician")
    page = _history(site, "injection_session", session["id"])
    cells = _cells(page)
    overriding = [value for name, value in cells.items() if "verrid" in name and "linician" in name]
    assert overriding == ["Dr Ada Reyes"], cells
    assert site.world.clinician_id not in re.sub(r"<[^>]+>", "", page)
