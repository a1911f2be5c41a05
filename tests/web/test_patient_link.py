"""Patients' one-time, expiring links: issue, open, submit once, expire; own records only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bontrack.audit.models import AuditEntry
from bontrack.outcomes.models import OutcomeRow
from bontrack.storage.engine import transaction
from web.conftest import Site

NPRS = {"instrument": "nprs", "answers": {"1": 4}}


def _issue(site: Site, **extra: Any) -> dict[str, Any]:
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]}
    response = site.client.post("/api/patient-links", json=body | extra, headers=site.bearer("staff"))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _outcomes_saved(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(OutcomeRow)) or 0)


def test_link__issued_url_opens_without_login(site: Site) -> None:
    issued = _issue(site)
    assert issued["url"] == f"http://testserver/p/{issued['token']}"
    response = site.client.get(f"/api/patient-link/{issued['token']}")
    assert response.status_code == 200
    assert response.json()["instruments"] == ["nprs"]


def test_link__submits_once_then_is_gone(site: Site) -> None:
    token = _issue(site)["token"]
    first = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert first.status_code == 201, first.text
    (saved,) = first.json()
    assert saved["data"]["patient_id"] == site.world.patient_id
    assert saved["data"]["date"] == "2026-03-02"  # the app's clock
    again = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert again.status_code == 410
    assert again.headers["content-type"] == "application/problem+json"
    assert site.client.get(f"/api/patient-link/{token}").status_code == 410
    assert _outcomes_saved(site) == 1


def test_link__expires(site: Site) -> None:
    token = _issue(site, expires_in_hours=2)["token"]
    site.clock.advance(hours=1, minutes=59)
    assert site.client.get(f"/api/patient-link/{token}").status_code == 200
    site.clock.advance(minutes=1)
    response = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert _outcomes_saved(site) == 0


def test_link__bad_answers_name_the_field_and_leave_the_link_usable(site: Site) -> None:
    token = _issue(site)["token"]
    bad = site.client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{"instrument": "nprs", "answers": {"1": 12}}]}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"].startswith("forms[0].answers")
    other = site.client.post(
        f"/api/patient-link/{token}/outcomes", json={"forms": [{**NPRS, "instrument": "ndi"}]}
    )
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "forms[0].instrument"
    assert site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]}).status_code == 201


def test_link__patient_sees_only_their_own_records(site: Site) -> None:
    other = site.client.post(
        "/api/patients",
        json={"record_number": "P-777", "name": "Someone Else", "birth_date": "1960-01-01", "sex": "male"},
        headers=site.bearer("staff"),
    ).json()
    staff = site.bearer("staff")
    episode = site.client.post(
        "/api/episodes",
        json={
            "patient_id": other["id"],
            "diagnosis_codes": [{"code": "M54.2"}],
            "pain_onset_date": "2025-01-01",
            "conservative_care_weeks": 8,
        },
        headers=site.bearer("physician"),
    ).json()
    for patient_id, episode_id in (
        (site.world.patient_id, site.world.episode_id),
        (other["id"], episode["id"]),
    ):
        body = {"patient_id": patient_id, "episode_id": episode_id, "date": "2026-02-01"} | NPRS
        assert site.client.post("/api/outcomes", json=body, headers=staff).status_code == 201
    token = _issue(site)["token"]
    view = site.client.get(f"/api/patient-link/{token}")
    assert [o["data"]["patient_id"] for o in view.json()["outcomes"]] == [site.world.patient_id]
    assert "Someone Else" not in view.text and other["id"] not in view.text


def test_link__reads_and_writes_are_audited_as_the_link(site: Site) -> None:
    issued = _issue(site)
    token, link_id = issued["token"], issued["link"]["id"]
    site.client.get(f"/api/patient-link/{token}")
    (saved,) = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]}).json()
    with transaction(site.engine) as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.actor == f"patient-link:{link_id}")))
        issued_entry = db.scalar(select(AuditEntry).where(AuditEntry.record_id == link_id))
    assert ("create", saved["id"]) in {(e.action, e.record_id) for e in entries}
    assert issued_entry is not None and issued_entry.actor == "user:staff@clinic.example.org"


def test_link__researcher_cannot_issue_and_unknown_token_is_404(site: Site) -> None:
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]}
    assert (
        site.client.post("/api/patient-links", json=body, headers=site.bearer("researcher")).status_code
        == 403
    )
    assert site.client.get("/api/patient-link/" + "x" * 43).status_code == 404
    unknown = site.client.post(
        "/api/patient-links", json=body | {"instruments": ["tarot"]}, headers=site.bearer("staff")
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "instruments"
