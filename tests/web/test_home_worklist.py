"""The home page is the clinic's day, and the worklist can be worked (issue 14, items 1 and 4):
the real app on a real SQLite registry, through the TestClient."""

from __future__ import annotations

import datetime as dt
import html as html_text
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.scheduling.models import WorklistActionRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, log_in


def _session_then_two_weeks(site: Site) -> dict[str, str]:
    """A session saved today; the clock moved two weeks on: its 2-week outcome visit is due."""
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    response = site.client.post("/api/sessions", json=body, headers=site.bearer("physician"))
    assert response.status_code == 201, response.text
    site.clock.advance(weeks=2)
    return response.json()


def _forms(html: str, value: str) -> list[dict[str, str]]:
    """The hidden fields of every action form with a button of this action value."""
    out = []
    for form in re.findall(r'<form method="post" action="/worklist/actions".*?</form>', html, re.S):
        if f'value="{value}"' in form:
            out.append(dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)))
    return out


def _item_pages(html: str) -> list[str]:
    """The links of the rows to their items' own pages (snooze, cancel)."""
    return [html_text.unescape(h) for h in re.findall(r'href="(/worklist/item\?[^"]+)"', html)]


def _actions(site: Site) -> int:
    with transaction(site.engine) as db:
        return db.scalar(select(func.count()).select_from(WorklistActionRow)) or 0


def test_home__physician_sees_todays_items_by_name_with_links(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    html = site.client.get("/").text
    today = re.search(r'<section class="card" id="due-today".*?</section>', html, re.S)
    assert today is not None
    assert "Test Patient" in today.group(0) and "2-week outcome visit" in today.group(0)
    assert f'href="/patients/{site.world.patient_id}/outcomes/new"' in today.group(0)
    assert f'href="/patients/{site.world.patient_id}"' in today.group(0)
    assert "patient_id" not in re.sub(r"<[^>]+>", "", html)  # no field ids in the words shown
    # a physician sees today's sessions first
    assert html.index('id="sessions"') < html.index('id="due-today"')


def test_home__staff_sees_due_items_before_sessions_and_a_researcher_no_patients(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "staff")
    html = site.client.get("/").text
    assert html.index('id="due-today"') < html.index('id="sessions"')
    site.client.cookies.clear()
    log_in(site, "researcher")
    html = site.client.get("/").text
    assert "Test Patient" not in html and "research data" in html


def test_worklist__done_leaves_the_list_and_shows_on_the_chart(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    page = site.client.get("/worklist").text
    assert "Test Patient" in page and "years" in page  # name and age
    form = next(f for f in _forms(page, "done") if f["kind"] == "outcome_visit")
    response = site.client.post("/worklist/actions", data=form | {"action": "done"})
    assert response.status_code == 303 and response.headers["location"] == "/worklist"
    after = site.client.get("/worklist").text
    assert form["item_key"] not in after and "1 done or cancelled" in after
    chart = site.client.get(f"/patients/{site.world.patient_id}").text
    assert "<strong>Worklist</strong>" in chart
    assert "Outcome visit (2-week outcome visit after 2026-03-02): done" in chart


def test_worklist__snooze_hides_until_the_date(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "staff")
    home = site.client.get("/").text
    assert 'value="snoozed"' not in home  # the rows link to the item's page for the rest
    pages = [site.client.get(link).text for link in _item_pages(home)]
    form = next(f for p in pages for f in _forms(p, "snoozed") if f["kind"] == "outcome_visit")
    until = (site.clock.now.date() + dt.timedelta(days=2)).isoformat()
    response = site.client.post("/worklist/actions", data=form | {"action": "snoozed", "snooze_until": until})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert form["item_key"] not in site.client.get("/worklist").text
    site.clock.advance(days=2)
    log_in(site, "staff")
    assert form["item_key"] in site.client.get("/worklist").text


def test_worklist__cancel_without_reason_is_a_page_in_words_and_nothing_written(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    (link, *_) = _item_pages(site.client.get("/worklist").text)
    form = _forms(site.client.get(link).text, "cancelled")[0]
    response = site.client.post("/worklist/actions", data=form | {"action": "cancelled"})
    assert response.status_code == 400
    assert "Reason" in response.text and "reason:" not in response.text and "Traceback" not in response.text
    assert _actions(site) == 0


def test_worklist__action_needs_the_form_token_and_a_patient_of_ones_clinic(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    form = _forms(site.client.get("/worklist").text, "done")[0]
    refused = site.client.post("/worklist/actions", data=form | {"action": "done", "csrf_token": "x"})
    assert refused.status_code == 403
    unknown = site.client.post(
        "/worklist/actions",
        data=form | {"action": "done", "patient_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert unknown.status_code == 404
    assert _actions(site) == 0
    site.client.cookies.clear()
    log_in(site, "researcher")
    assert site.client.post("/worklist/actions", data=form | {"action": "done"}).status_code == 403


def test_worklist__filters_by_type_overdue_and_clinician(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    rows = r'<tr class="(?:overdue|due|upcoming|eligible)'
    everything = len(re.findall(rows, site.client.get("/worklist").text))
    therapy = site.client.get("/worklist?kind=therapy_visit").text
    assert 0 < len(re.findall(rows, therapy)) < everything and "2-week outcome visit" not in therapy
    overdue = site.client.get("/worklist?overdue=1").text
    assert re.findall(rows, overdue) == re.findall(r'<tr class="overdue', overdue)
    mine = site.client.get("/worklist?clinician=mine").text  # Dr Reyes injected and plans the PT
    assert len(re.findall(rows, mine)) == everything
    nobody = site.client.get("/worklist?clinician=someone-else").text
    assert re.findall(rows, nobody) == [] and "Nothing to do with these filters." in nobody
    bogus = site.client.get("/worklist?kind=bogus", headers={"accept": "text/html"})
    assert bogus.status_code == 400 and "Type must be one of: All, Outcome visit" in bogus.text


def test_worklist_and_home__reads_and_writes_audited(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    form = _forms(site.client.get("/").text, "contacted")[0]
    assert site.client.post("/worklist/actions", data=form | {"action": "contacted"}).status_code == 303
    with transaction(site.engine) as db:
        entries = db.scalars(
            select(AuditEntry).where(AuditEntry.record_type.in_(("worklist_action", "due_item")))
        ).all()
    # the action written; the due items (which carry each item's latest action) read for the page
    assert {(e.record_type, e.action) for e in entries} == {
        ("worklist_action", "create"),
        ("due_item", "read"),
    }
    assert all(e.actor.startswith("user:") for e in entries)


def test_home__the_therapy_visit_due_today_links_to_its_form(site: Site) -> None:
    log_in(site, "physical_therapist")
    html = site.client.get("/").text
    today = re.search(r'<section class="card" id="due-today".*?</section>', html, re.S)
    assert today is not None and "physical therapy visit 1 of 12" in today.group(0)
    assert f'href="/patients/{site.world.patient_id}/therapy/visit">Record the visit</a>' in today.group(0)
    assert "Nothing is overdue within the last 28 days." in html


def test_worklist__a_page_past_the_last_shows_the_last_and_reviews_alone_list_no_items(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    first = site.client.get("/worklist")
    past = site.client.get("/worklist?page=999")
    assert first.status_code == past.status_code == 200
    assert "2-week outcome visit" in first.text and "2-week outcome visit" in past.text
    reviews = site.client.get("/worklist?kind=stop_review")
    assert reviews.status_code == 200
    assert "2-week outcome visit" not in reviews.text  # only the stop-and-review list


def test_worklist_item__its_own_page_has_every_action_and_goes_back_where_it_came_from(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    listed = site.client.get("/worklist?kind=outcome_visit").text
    (row,) = re.findall(r'<tr class="(?:overdue|due|upcoming|eligible).*?</tr>', listed, re.S)
    assert [f["item_key"] for f in _forms(row, "done")] and not _forms(row, "snoozed")  # a light row
    (link,) = _item_pages(row)
    assert parse_qs(urlsplit(link).query)["next"] == ["/worklist?kind=outcome_visit"]
    item = site.client.get(link)
    assert item.status_code == 200 and "Test Patient" in item.text and "2-week outcome visit" in item.text
    done, snooze, cancel = (_forms(item.text, v) for v in ("done", "snoozed", "cancelled"))
    assert len(done) == len(snooze) == len(cancel) == 1
    assert snooze[0]["item_key"] == _forms(row, "done")[0]["item_key"] == cancel[0]["item_key"]
    assert 'name="snooze_until"' in item.text and 'name="reason"' in item.text
    assert "patient_id" not in re.sub(r"<[^>]+>", "", item.text)
    # the form on the item's page (no JavaScript: a plain post) saves and goes back to the list
    response = site.client.post(
        "/worklist/actions", data=cancel[0] | {"action": "cancelled", "reason": "moved away"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/worklist?kind=outcome_visit"
    assert _actions(site) == 1
    assert "Nothing to do with these filters." in site.client.get("/worklist?kind=outcome_visit").text
    # once closed, the item's page says so in words
    gone = site.client.get(link)
    assert gone.status_code == 404 and "not on the worklist" in gone.text and "Traceback" not in gone.text


def test_worklist_item__only_ones_own_clinics_items_and_clinical_roles(site: Site) -> None:
    _session_then_two_weeks(site)
    log_in(site, "physician")
    (link, *_) = _item_pages(site.client.get("/worklist").text)
    asked = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    unknown = site.client.get("/worklist/item?" + urlencode(asked | {"patient_id": "0" * 8}))
    assert unknown.status_code == 404
    outside = site.client.get("/worklist/item?" + urlencode(asked | {"next": "https://evil.example/"}))
    assert outside.status_code == 200 and "https://evil.example" not in outside.text
    site.client.cookies.clear()
    log_in(site, "researcher")
    assert site.client.get(link).status_code == 403
