"""Withdrawing a patient is a destructive action (issue 14, item 6): the chart's "Withdraw patient"
opens a confirmation page that names the patient and asks for the reason on the same screen, with a
way to keep the record; opening it changes nothing, and only the confirmed form with a reason does."""

from __future__ import annotations

from sqlalchemy import func, select

from bontrack.kinds import KINDS
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, log_in


def _versions(site: Site) -> int:
    with transaction(site.engine) as db:
        return sum(int(db.scalar(select(func.count()).select_from(k.row)) or 0) for k in KINDS)


def test_withdraw_patient__confirmation_page_with_the_reason_then_withdrawn(site: Site) -> None:
    # a patient registered by mistake (one with records cannot be withdrawn before them)
    body = {"record_number": "DUP-0001", "name": "Dana Twice", "birth_date": "1980-02-03", "sex": "female"}
    created = site.client.post("/api/patients", json=body, headers=site.bearer("staff"))
    assert created.status_code == 201, created.text
    patient = created.json()["id"]
    assert log_in(site, "staff") == 303
    chart = site.client.get(f"/patients/{patient}").text
    path = f"/patients/{patient}/records/patient/{patient}/withdraw"
    assert f'href="{path}"' in chart  # a link to the confirmation, not a button that withdraws
    before = _versions(site)
    page = site.client.get(path)
    assert page.status_code == 200
    assert _versions(site) == before  # opening the confirmation writes nothing
    text = page.text
    assert "Dana Twice" in text and "Reason for withdrawing (required)" in text
    assert 'type="submit" class="danger">Withdraw patient</button>' in text
    assert f'href="/patients/{patient}">Cancel: keep it</a>' in text
    token = csrf_from(text)
    refused = site.client.post(path, data={"reason": "", "csrf_token": token})
    assert refused.status_code == 400 and 'id="err-reason"' in refused.text
    assert _versions(site) == before
    done = site.client.post(path, data={"reason": "registered twice", "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/patients?saved=patient_withdrawn"
    assert _versions(site) == before + 1  # a new version saying withdrawn; nothing deleted
