"""The pages through TestClient: forms show field errors inline and write nothing, roles are
enforced on pages too, researchers see pseudonyms only, and reading a page leaves audit entries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.screening.models import ScreeningRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, csrf_from, email, log_in


def count(site: Site, row_cls: type) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(row_cls)) or 0)


def audit_count(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def session_form(site: Site, **changes: str) -> dict[str, str]:
    w = site.world
    fields = {
        "episode_id": w.episode_id,
        "date": "2026-03-02",
        "injector_id": w.clinician_id,
        "guidance": "emg",
        "product": "onabotulinumtoxinA",
        "vial_units": "100",
        "vial_count": "1",
        "diluent_ml": "2",
        "lot": "C1234",
        "lot_expiry": "2027-01-01",
        "reconstituted_at": "2026-03-02T08:30",
        "sites[0].muscle": "upper_trapezius",
        "sites[0].side": "left",
        "sites[0].units": "25",
        "sites[1].muscle": "",
        "sites[1].side": "",
        "sites[1].units": "",
    }
    return fields | changes


def post_form(site: Site, path: str, fields: dict[str, str]) -> tuple[int, str]:
    token = csrf_from(site.client.get(path).text)
    response = site.client.post(path, data=fields | {"csrf_token": token})
    return response.status_code, response.text


def test_patient_list__search_by_name_and_record_number(site: Site) -> None:
    log_in(site, "staff")
    assert "P-001" in site.client.get("/patients?q=test patient").text
    assert "P-001" in site.client.get("/patients?q=p-00").text
    page = site.client.get("/patients?q=nobody-like-this")
    assert page.status_code == 200
    assert "P-001" not in page.text and "0 patients" in page.text


def test_patient_list__researcher_sees_pseudonyms_only(site: Site) -> None:
    log_in(site, "researcher")
    page = site.client.get("/patients")
    assert page.status_code == 200
    assert re.search(r"R-[0-9a-f]{16}", page.text)
    assert "Test Patient" not in page.text and "P-001" not in page.text and "1978" not in page.text
    assert site.client.get(f"/patients/{site.world.patient_id}").status_code == 403


def test_chart__renders_body_map_and_audits_the_read(site: Site) -> None:
    log_in(site, "physician")
    with transaction(site.engine) as db:  # the newest entry's seq (seqs are not a count: packs)
        before = int(db.scalar(select(func.max(AuditEntry.seq))) or 0)
    page = site.client.get(f"/patients/{site.world.patient_id}")
    assert page.status_code == 200
    assert 'data-muscle="upper_trapezius" data-side="left"' in page.text
    assert 'data-trigger-point="true"' in page.text  # the factory's assessment found two
    with transaction(site.engine) as db:
        reads = db.scalars(
            select(AuditEntry).where(AuditEntry.seq > before, AuditEntry.action == "read")
        ).all()
    assert {e.record_type for e in reads} >= {"patient", "assessment", "screening", "episode"}
    assert {e.actor for e in reads} == {f"user:{email('physician')}"}


def test_session_form__bad_input_shows_errors_inline_and_writes_nothing(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    before = count(site, InjectionSessionRow)
    status, html = post_form(site, path, session_form(site, **{"sites[0].units": "-5", "lot": ""}))
    assert status == 400
    assert 'class="field-error" id="err-sites[0].units"' in html
    assert 'id="err-lot"' in html
    assert "Nothing was saved" in html
    assert count(site, InjectionSessionRow) == before


def test_session_form__absurd_units_are_a_field_error_not_a_block(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    before = count(site, InjectionSessionRow)
    status, html = post_form(site, path, session_form(site, **{"sites[0].units": "1000000000"}))
    assert status == 400
    assert (
        "Injection site 1: units must be at most 10,000 (the largest single-session dose of any "
        "product in the knowledge base)."
    ) in html
    assert count(site, InjectionSessionRow) == before
    site.client.cookies.clear()
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    body["sites"][0]["units"] = 1e308
    body["vial_count"] = 21
    for path in ("/api/sessions", "/api/sessions/check"):
        response = site.client.post(path, json=body, headers=site.bearer("physician"))
        assert response.status_code == 422, response.text
        assert {e["field"] for e in response.json()["errors"]} == {"sites[0].units", "vial_count"}
    assert count(site, InjectionSessionRow) == before


def test_session_form__saves_and_returns_to_the_chart(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    status, _ = post_form(site, path, session_form(site))
    assert status == 303
    assert count(site, InjectionSessionRow) == 1


def test_session_form__blocked_plan_needs_an_override_and_shows_why(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    status, html = post_form(site, path, session_form(site, lot_expiry="2026-01-01"))
    assert status == 409
    assert "expired on 2026-01-01" in html and 'id="err-override"' in html
    assert count(site, InjectionSessionRow) == 0
    assert 'name="override.acknowledged" value="lot.expired"' in html  # one tick per block
    fields = session_form(site, lot_expiry="2026-01-01") | {
        "override.clinician_id": site.world.clinician_id,
        "override.acknowledged": "lot.expired",
        "override.reason": "Only vial in stock; pharmacy confirmed potency in writing.",
    }
    status, _ = post_form(site, path, fields)
    assert status == 303
    assert count(site, InjectionSessionRow) == 1


def test_session_form__physical_therapist_gets_403(site: Site) -> None:
    log_in(site, "physical_therapist")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    assert site.client.get(path).status_code == 403
    token = csrf_from(site.client.get(f"/patients/{site.world.patient_id}/assessments/new").text)
    response = site.client.post(path, data=session_form(site) | {"csrf_token": token})
    assert response.status_code == 403
    assert count(site, InjectionSessionRow) == 0


def test_form_post__without_csrf_token_is_refused(site: Site) -> None:
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    response = site.client.post(path, data=session_form(site) | {"csrf_token": "forged"})
    assert response.status_code == 403
    assert count(site, InjectionSessionRow) == 0


def test_screening_form__unknown_date_is_an_inline_error(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/screenings/new"
    before = count(site, ScreeningRow)
    status, html = post_form(site, path, {"date": "2026-02-30", "pregnant": "no", "medications": "aspirin"})
    assert status == 400 and 'id="err-date"' in html
    assert count(site, ScreeningRow) == before
    status, _ = post_form(
        site,
        path,
        {"date": "2026-03-01", "pregnant": "no", "allergies": "human_albumin", "medications": "x\ny"},
    )
    assert status == 303 and count(site, ScreeningRow) == before + 1


def test_outcome_form__answer_out_of_range_is_shown_on_the_item(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/outcomes/new"
    fields = {
        "instrument": "nprs",
        "episode_id": site.world.episode_id,
        "date": "2026-03-02",
        "answers.1": "11",
    }
    status, html = post_form(site, path, fields)
    assert status == 400 and 'id="err-answers.1"' in html
    assert count(site, OutcomeRow) == 0


def test_self_report__link_from_the_chart_then_answers_once(site: Site) -> None:
    log_in(site, "staff")
    path = f"/patients/{site.world.patient_id}/links/new"
    status, html = post_form(
        site, path, {"episode_id": site.world.episode_id, "instruments": "nprs", "expires_in_hours": "24"}
    )
    assert status == 303 or status == 200
    url = re.search(r'id="issued-link" href="([^"]+)"', html)
    assert url, html
    link_path = "/p/" + url.group(1).rsplit("/p/", 1)[1]
    site.client.cookies.clear()  # the patient has no session
    assert site.client.get(link_path).status_code == 200
    bad = site.client.post(link_path, data={"nprs.1": "12"})
    assert bad.status_code == 400 and 'id="err-nprs.1"' in bad.text
    assert count(site, OutcomeRow) == 0
    sent = site.client.post(link_path, data={"nprs.1": "4"})
    assert (sent.status_code, sent.headers["location"]) == (303, link_path)  # post, redirect, get
    assert count(site, OutcomeRow) == 1
    # the link's page now says the answers arrived; Back or Reload shows that, a second post too
    received = "Your answers were received on 2 March 2026. Thank you — there is nothing more to do."
    again = site.client.get(link_path)
    assert again.status_code == 200 and received in again.text
    resent = site.client.post(link_path, data={"nprs.1": "5"})
    assert (resent.status_code, resent.headers["location"]) == (303, link_path)
    assert count(site, OutcomeRow) == 1


def test_worklist_and_audit_pages__by_role(site: Site) -> None:
    log_in(site, "physician")
    assert site.client.get("/worklist").status_code == 200
    assert site.client.get("/audit").status_code == 403
    site.client.cookies.clear()
    log_in(site, "admin")
    page = site.client.get("/audit?actor=" + f"user:{email('physician')}")
    assert page.status_code == 200
    assert "user:admin" not in page.text.split("<tbody>")[1]  # filtered to one actor
    with transaction(site.engine) as db:
        last = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert last.record_type == "audit_log" and last.actor == f"user:{email('admin')}"


def test_worklist_page__pages_through_due_items_keeping_the_horizon(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bontrack.web.views import worklist as view

    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    assert site.client.post("/api/sessions", json=body, headers=site.bearer("physician")).status_code == 201
    log_in(site, "physician")
    everything = site.client.get("/worklist?days=365").text
    rows = re.findall(r'<tr class="(?:overdue|due|upcoming|eligible)', everything)
    assert len(rows) >= 3
    monkeypatch.setattr(view, "WORKLIST_PAGE", 2)
    first = site.client.get("/worklist?days=365").text
    assert len(re.findall(r'<tr class="(?:overdue|due|upcoming|eligible)', first)) == 2
    assert f"{len(rows)} items" in first and "showing 1-2" in first
    assert 'href="?days=365&amp;page=2" rel="next"' in first
    last_no = (len(rows) + 1) // 2
    last = site.client.get(f"/worklist?days=365&page={last_no + 5}").text  # past the end: the last page
    assert f"Page {last_no} of {last_no}" in last and 'rel="next"' not in last


def test_worklist_page__overdue_items_older_than_the_look_back_are_counted_and_linked(site: Site) -> None:
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    assert site.client.post("/api/sessions", json=body, headers=site.bearer("physician")).status_code == 201
    status = r'<tr class="(?:overdue|due|upcoming|eligible)'
    # the session's visits fall due later; looked at from a year on, they are all long overdue
    later = dt.date.fromisoformat(body["date"]) + dt.timedelta(days=400)
    site.clock.now = dt.datetime.combine(later, dt.time(9, 0))
    log_in(site, "physician")
    everything = site.client.get("/worklist?days=14&back=0").text
    overdue = len(re.findall(r'<tr class="overdue', everything))
    assert overdue >= 2
    recent = site.client.get("/worklist?days=14&back=28").text
    # every item fell due (overdue visits, the re-injection allowed) more than 28 days ago
    older = len(re.findall(status, everything))
    assert len(re.findall(status, recent)) == 0 and older > overdue
    assert f"{older} open items due more than 28 days ago not listed" in recent
    assert 'href="?days=14&amp;back=0">list them too</a>' in recent


def test_session_form__a_second_session_that_day_needs_each_block_ticked_and_a_real_reason(
    site: Site,
) -> None:
    """The QA pass: 'override.reason=x' saved a second session the same day, every block cleared at once."""
    log_in(site, "physician")
    path = f"/patients/{site.world.patient_id}/sessions/new"
    assert post_form(site, path, session_form(site))[0] == 303
    expired = session_form(site, lot_expiry="2026-01-01")
    status, html = post_form(site, path, expired | {"override.reason": "x"})
    assert status == 409
    # what the reason holds; the hint above it gives the minimum
    assert (
        "The reason for overriding has too few words of your own: 0 different words, 0 letters written"
        in html
    )
    # the hint says the same numbers (pathway.toml)
    assert "in a few words of your own: at least 3 different words with 15 letters between them." in html
    # filler that once passed the 15 characters: one word repeated
    status, filled = post_form(site, path, expired | {"override.reason": "override override override"})
    assert (
        status == 409 and "too few words of your own: 1 different word, 8 letters written (a word" in filled
    )
    # one checkbox per block, in the finding's words, the same-day block first
    boxes = re.findall(r'name="override.acknowledged" value="([^"]+)"', html)
    assert boxes == ["retreatment.too_soon", "lot.expired"]
    assert "A session of onabotulinumtoxinA was already recorded on the same day (2026-03-02, 25 U)" in html
    assert "added by correcting that session" in html
    reason = {"override.reason": "Only vial in stock; pharmacy confirmed potency in writing."}
    status, html = post_form(site, path, expired | reason | {"override.acknowledged": "lot.expired"})
    assert status == 409
    assert "Tick each block you override; not ticked: A session of onabotulinumtoxinA was already" in html
    assert count(site, InjectionSessionRow) == 1
    token = csrf_from(site.client.get(path).text)
    both = {"override.acknowledged": ["retreatment.too_soon", "lot.expired"], "csrf_token": token}
    saved = site.client.post(path, data=expired | reason | both)
    assert saved.status_code == 303, saved.text
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "(blocks acknowledged: retreatment too soon, lot expired)" in chart


def test_chart__an_override_stored_before_blocks_were_acknowledged_still_shows(site: Site) -> None:
    from bontrack.injections.schemas import Override
    from bontrack.injections.service import _INJECTION_SESSION, judge

    with transaction(site.engine) as db:  # written as the service wrote it before: no rule for the reason
        record, _decision = judge(db=db, actor="test", data=session_input(site.world))
        old = Override(clinician_id=site.world.clinician_id, reason="x")
        _INJECTION_SESSION.create_row(
            db, "test", record.model_copy(update={"override": old}), site.world.clinic_id
        )
    log_in(site, "physician")
    chart = site.client.get(f"/patients/{site.world.patient_id}")
    assert chart.status_code == 200
    assert "Override: <bdi>x</bdi></span>" in chart.text  # the reason alone, no blocks named
