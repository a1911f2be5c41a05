"""Withdrawing a session that took vials from stock (QA B4): its vial openings are withdrawn in the
same transaction, on the API and on the withdraw page; the vials count as in stock again, and
each opening keeps its earlier version and an audit entry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.stock.models import VialOpeningRow
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, csrf_from, log_in
from web.test_stock_pages import receive


def _remaining(site: Site, lot: str) -> int:
    lines = site.client.get("/api/stock", headers=site.bearer("physician")).json()
    return sum(line["remaining"] for line in lines if line["lot"] == lot)


def _session_from_stock(site: Site, lot: str) -> dict[str, Any]:
    receive(site, lot)
    body = session_input(site.world, lot=lot).model_dump(mode="json", exclude_none=True)
    response = site.client.post("/api/sessions", json=body, headers=site.bearer("physician"))
    assert response.status_code == 201, response.text
    assert _remaining(site, lot) == 2
    saved: dict[str, Any] = response.json()
    return saved


def _openings(site: Site, session_id: str) -> list[VialOpeningRow]:
    with transaction(site.engine) as db:
        query = select(VialOpeningRow).where(VialOpeningRow.session_id == session_id)
        return list(db.scalars(query.order_by(VialOpeningRow.version)))


def _withdrawals_audited(site: Site, record_type: str) -> int:
    with transaction(site.engine) as db:
        done = (AuditEntry.action == "withdraw", AuditEntry.record_type == record_type)
        query = select(AuditEntry).where(*done)
        return len(list(db.scalars(query)))


def test_api__withdrawing_a_session_puts_its_vials_back(site: Site) -> None:
    session = _session_from_stock(site, "STK-1")
    response = site.client.post(
        f"/api/sessions/{session['id']}/withdraw",
        json={"reason": "entered for the wrong patient"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn"] is True
    assert _remaining(site, "STK-1") == 3
    versions = _openings(site, session["id"])
    assert [(v.version, v.withdrawn) for v in versions] == [(1, False), (2, True)]  # kept, then withdrawn
    assert versions[1].reason == "entered for the wrong patient"
    assert _withdrawals_audited(site, "vial_opening") == 1
    assert _withdrawals_audited(site, "injection_session") == 1


def test_api__a_session_still_referred_to_keeps_its_vials_out(site: Site) -> None:
    session = _session_from_stock(site, "STK-2")
    outcome = {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "session_id": session["id"],
        "weeks_after_session": 2,
        "instrument": "nprs",
        "date": "2026-03-16",
        "answers": {"1": 3},
    }
    saved = site.client.post("/api/outcomes", json=outcome, headers=site.bearer("physician"))
    assert saved.status_code == 201, saved.text
    response = site.client.post(
        f"/api/sessions/{session['id']}/withdraw", json={"reason": "wrong"}, headers=site.bearer("physician")
    )
    assert response.status_code == 409
    assert "outcome" in response.text and "vial opening" not in response.text
    assert _remaining(site, "STK-2") == 2  # the openings' withdrawal was rolled back with it
    assert [v.withdrawn for v in _openings(site, session["id"])] == [False]


def test_page__withdrawing_a_session_puts_its_vials_back(site: Site) -> None:
    session = _session_from_stock(site, "STK-3")
    assert log_in(site, "physician") == 303
    path = f"/patients/{site.world.patient_id}/records/injection_session/{session['id']}/withdraw"
    form = site.client.get(path)
    assert form.status_code == 200
    response = site.client.post(path, data={"csrf_token": csrf_from(form.text), "reason": "duplicate entry"})
    assert response.status_code == 303, response.text
    assert _remaining(site, "STK-3") == 3
    assert [v.withdrawn for v in _openings(site, session["id"])] == [False, True]
