"""The saved session's billing lines on its chart page (issue 17): the drug's HCPCS code with JW
for what its vials left over, or JZ when nothing was discarded; the numbers are those of
`bontrack code` for the same session (planning.billing), worked by hand here."""

from __future__ import annotations

import datetime as dt
import html
import re

from bontrack.injections.billing import session_billing
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, saved_session
from web.conftest import Site, log_in


def _billing_text(page: str) -> str:
    found = re.search(r'<table class="list billing" id="billing">.*?</p>', page, re.DOTALL)
    assert found, "no billing lines on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def test_billing__50_units_from_a_100_unit_vial_bill_j0585_x50_and_jw_x50(site: Site) -> None:
    w = site.world
    with transaction(site.engine) as db:
        session = saved_session(db, w, day=DAY)  # 2 x 25 U from one 100 U vial (the factory)
    site.clock.now = dt.datetime.combine(DAY, dt.time(12))
    log_in(site, "physician")
    text = _billing_text(site.client.get(f"/patients/{w.patient_id}/sessions/{session.id}/billing").text)
    assert re.search(r"J0585 - 50 .*50 U given", text), text
    assert re.search(r"J0585 JW 50 .*50 U discarded from 1 x 100 U", text), text
    assert "50 U given, 50 U discarded of 100 U opened" in text
    assert "M54.2" in text  # the episode's diagnosis codes


def test_billing__a_whole_vial_given_bills_jz(site: Site) -> None:
    w = site.world
    with transaction(site.engine) as db:
        session = saved_session(db, w, day=DAY, units=50)  # 2 x 50 U: the whole 100 U vial
        lines = session_billing(db=db, actor=ACTOR, session_id=session.id)
    first = lines.lines[0]
    assert (first.code, first.modifiers, first.units) == ("J0585", ["JZ"], 100)
    assert lines.discarded_units == 0
    log_in(site, "physician")
    text = _billing_text(site.client.get(f"/patients/{w.patient_id}/sessions/{session.id}/billing").text)
    assert "J0585 JZ 100" in text and "J0585 JW" not in text


def test_billing__the_chart_links_to_the_shown_sessions_billing_lines(site: Site) -> None:
    w = site.world
    with transaction(site.engine) as db:
        session = saved_session(db, w, day=DAY)
    log_in(site, "physician")
    chart = site.client.get(f"/patients/{w.patient_id}?session={session.id}").text
    assert f'href="/patients/{w.patient_id}/sessions/{session.id}/billing"' in chart
    missing = site.client.get(f"/patients/{w.patient_id}/sessions/nonexistent/billing")
    assert missing.status_code == 404 and "There is no such session." in missing.text
