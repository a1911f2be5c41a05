"""An open or serious adverse event on the worklist and the home page, in words, with its link to
the event's correction form and its Done (the real app on a real SQLite registry)."""

from __future__ import annotations

import datetime as dt
import re

from factories import session_input
from web.conftest import Site, log_in

ROWS = r'<tr class="(?:overdue|due|upcoming|eligible)'


def _serious_dysphagia(site: Site) -> tuple[str, dt.date]:
    """A session today, and a serious dysphagia reported the same day, still ongoing."""
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    session = site.client.post("/api/sessions", json=body, headers=site.bearer("physician"))
    assert session.status_code == 201, session.text
    day = dt.date.fromisoformat(session.json()["data"]["date"])
    event = {
        "patient_id": site.world.patient_id,
        "session_id": session.json()["id"],
        "event": "dysphagia",
        "onset_date": str(day),
        "reported_date": str(day),
        "severity": "severe",
        "serious": True,
        "status": "ongoing",
        "outcome": "soft diet",
    }
    saved = site.client.post("/api/adverse-events", json=event, headers=site.bearer("physician"))
    assert saved.status_code == 201, saved.text
    return saved.json()["id"], day


def test_worklist__an_open_serious_adverse_event_is_listed_in_words_until_done(site: Site) -> None:
    event_id, onset = _serious_dysphagia(site)
    log_in(site, "physician")
    page = site.client.get("/worklist").text
    words = f"Follow up dysphagia (serious), began {onset}, still ongoing"
    assert words in page
    correct = f'href="/patients/{site.world.patient_id}/records/adverse_event/{event_id}/correct"'
    assert f"{correct}>Update the event&#39;s status</a>" in page
    assert '<option value="adverse_event" >Adverse event follow-up</option>' in page
    only = site.client.get("/worklist?kind=adverse_event").text
    assert len(re.findall(ROWS, only)) == 1 and words in only
    home = site.client.get("/").text
    today = re.search(r'<section class="card" id="due-today".*?</section>', home, re.S)
    assert today is not None and words in today.group(0)
    forms = re.findall(r'<form method="post" action="/worklist/actions".*?</form>', only, re.S)
    (done,) = [f for f in forms if 'value="adverse_event:' in f]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', done))
    assert fields["kind"] == "adverse_event" and fields["item_key"] == f"adverse_event:{event_id}"
    response = site.client.post("/worklist/actions", data=fields | {"action": "done"})
    assert response.status_code == 303, response.text
    assert words not in site.client.get("/worklist").text


def test_worklist_and_home__an_event_reported_before_the_look_back_is_listed_not_counted(site: Site) -> None:
    """74 days on, the serious event (reported on the session's day) is still listed as overdue on
    both pages, while the 2-week outcome visit (due 60 days before) is only counted as older."""
    event_id, day = _serious_dysphagia(site)
    site.clock.advance(days=74)
    log_in(site, "physician")
    words = f"Follow up dysphagia (serious), began {day}, still ongoing"
    visit = f"2-week outcome visit after {day}"
    page = site.client.get("/worklist").text
    assert words in page and visit not in page
    older = re.search(r"(\d+) open items? due more than 28 days ago not listed", page)
    assert older is not None
    assert visit in site.client.get("/worklist?back=0").text
    home = site.client.get("/").text
    overdue = re.search(r'<section class="card" id="overdue".*?</section>', home, re.S)
    assert overdue is not None and words in overdue.group(0)
    assert f"(and {older.group(1)} older than 28 days" in home
    only = site.client.get("/worklist?kind=adverse_event").text
    forms = re.findall(r'<form method="post" action="/worklist/actions".*?</form>', only, re.S)
    (done,) = [f for f in forms if f'value="adverse_event:{event_id}"' in f]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', done))
    response = site.client.post("/worklist/actions", data=fields | {"action": "done"})
    assert response.status_code == 303, response.text
    after = site.client.get("/worklist").text
    assert words not in after and f"{older.group(1)} open item" in after
