"""A patient's links on the chart and through the API (issued, used, expired, revoked; never the
secret), and revoking one still usable: its page and the patient's API then answer 410 in words
(QA 4, finding 6)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.patients.schemas import ClinicCreate
from bontrack.patients.service import create_clinic
from bontrack.storage.engine import transaction
from web.conftest import Site, csrf_from, log_in

NPRS = {"instrument": "nprs", "answers": {"1": 4}}
WITHDRAWN = "This link was withdrawn by the clinic; ask the clinic for a new one."


def _issue(site: Site, **extra: Any) -> dict[str, Any]:
    body = {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]}
    response = site.client.post("/api/patient-links", json=body | extra, headers=site.bearer("staff"))
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


def _links(site: Site, role: str = "staff") -> Any:
    return site.client.get(f"/api/patients/{site.world.patient_id}/links", headers=site.bearer(role))


def _revoke(site: Site, link_id: str, reason: str = "sent to the wrong phone", role: str = "staff") -> Any:
    at = f"/api/patients/{site.world.patient_id}/links/{link_id}/revoke"
    return site.client.post(at, json={"reason": reason}, headers=site.bearer(role))


def _page_revoke(site: Site, link_id: str, reason: str) -> Any:
    at = f"/patients/{site.world.patient_id}/links/{link_id}/revoke"
    form = site.client.get(at)
    assert form.status_code == 200, form.text
    return site.client.post(at, data={"csrf_token": csrf_from(form.text), "reason": reason})


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_api__lists_each_state_and_never_the_secret(site: Site) -> None:
    used, expired, usable, revoked = (_issue(site, expires_in_hours=h) for h in (48, 1, 48, 48))
    assert (
        site.client.post(f"/api/patient-link/{used['token']}/outcomes", json={"forms": [NPRS]}).status_code
        == 201
    )
    assert _revoke(site, revoked["link"]["id"]).status_code == 200
    site.clock.advance(hours=2)
    response = _links(site)
    assert response.status_code == 200, response.text
    listed = {link["id"]: link for link in response.json()}
    assert set(listed) == {i["link"]["id"] for i in (used, expired, usable, revoked)}
    assert listed[used["link"]["id"]]["used_at"] is not None
    assert listed[revoked["link"]["id"]]["revoked_reason"] == "sent to the wrong phone"
    assert listed[revoked["link"]["id"]]["revoked_by"] == "user:staff@clinic.example.org"
    assert all(link["created_by"] == "user:staff@clinic.example.org" for link in listed.values())
    for issued in (used, expired, usable, revoked):
        assert issued["token"] not in response.text
    assert "token_hash" not in response.text

    log_in(site, "staff")
    chart = site.client.get(f"/patients/{site.world.patient_id}")
    assert chart.status_code == 200
    section = _text(chart.text.split('id="links"', 1)[1].split("</section>", 1)[0])
    assert "Patient links" in section
    for state in ("usable", "used", "expired", "revoked"):
        assert state in section, state
    assert "revoked on 2026-03-02 09:00 by staff@clinic.example.org : sent to the wrong phone" in section
    assert section.count("Revoke") == 1  # only the usable link offers it
    assert f"/links/{usable['link']['id']}/revoke" in chart.text
    for issued in (used, expired, usable, revoked):
        assert issued["token"] not in chart.text


def test_page__revoke_then_the_link_says_it_was_withdrawn(site: Site) -> None:
    issued = _issue(site)
    token, link_id = issued["token"], issued["link"]["id"]
    log_in(site, "staff")
    done = _page_revoke(site, link_id, "sent to the wrong phone")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/patients/{site.world.patient_id}?saved=link_revoked#links"
    page = site.client.get(f"/p/{token}")
    assert page.status_code == 410
    assert WITHDRAWN in page.text
    api = site.client.get(f"/api/patient-link/{token}")
    assert api.status_code == 410 and api.json()["detail"] == WITHDRAWN
    sent = site.client.post(f"/api/patient-link/{token}/outcomes", json={"forms": [NPRS]})
    assert sent.status_code == 410 and sent.json()["detail"] == WITHDRAWN
    posted = site.client.post(f"/p/{token}", data={"nprs.1": "4"})
    assert posted.status_code == 410 and WITHDRAWN in posted.text


def test_page__reason_required_in_words_and_nothing_revoked(site: Site) -> None:
    issued = _issue(site)
    log_in(site, "staff")
    refused = _page_revoke(site, issued["link"]["id"], "   ")
    assert refused.status_code == 400
    assert "Reason for revoking" in _text(refused.text)
    assert site.client.get(f"/api/patient-link/{issued['token']}").status_code == 200
    api = _revoke(site, issued["link"]["id"], reason="")
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "reason", api.text
    assert site.client.get(f"/api/patient-link/{issued['token']}").status_code == 200


def test_api__revoke_is_audited_with_the_reason(site: Site) -> None:
    issued = _issue(site)
    link_id = issued["link"]["id"]
    response = _revoke(site, link_id, role="physician")
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] is not None
    with transaction(site.engine) as db:
        (entry,) = db.scalars(
            select(AuditEntry).where(AuditEntry.record_id == link_id, AuditEntry.action == "withdraw")
        )
        assert entry.actor == "user:physician@clinic.example.org"
        assert entry.record_type == "patient_link"
        assert "sent to the wrong phone" in (entry.detail or "")
    assert site.client.get(f"/api/patient-link/{issued['token']}").status_code == 410


def test_used_expired_or_revoked_links_cannot_be_revoked_409_in_words(site: Site) -> None:
    used, expired, revoked = (_issue(site, expires_in_hours=h) for h in (48, 1, 48))
    site.client.post(f"/api/patient-link/{used['token']}/outcomes", json={"forms": [NPRS]})
    assert _revoke(site, revoked["link"]["id"]).status_code == 200
    site.clock.advance(hours=1)
    for issued, words in (
        (used, "it was used on 2026-03-02"),
        (expired, "it expired on 2026-03-02"),
        (revoked, "it was revoked already on 2026-03-02"),
    ):
        response = _revoke(site, issued["link"]["id"])
        assert response.status_code == 409, response.text
        assert response.json()["errors"][0]["text"].startswith(f"Link cannot be revoked: {words}")
    log_in(site, "staff")
    at = f"/patients/{site.world.patient_id}/links/{used['link']['id']}/revoke"
    page = site.client.get(at)
    refused = site.client.post(at, data={"csrf_token": csrf_from(page.text), "reason": "x"})
    assert page.status_code == 200 and "nothing to revoke" in page.text
    assert refused.status_code == 409
    assert "This link cannot be revoked: it was used on 2026-03-02 09:00 UTC" in refused.text
    assert (
        site.client.post(f"/api/patient-link/{used['token']}/outcomes", json={"forms": [NPRS]}).status_code
        == 410
    )


def test_roles__a_researcher_or_administrator_is_refused_in_words(site: Site) -> None:
    issued = _issue(site)
    for role in ("researcher", "admin"):
        assert _links(site, role).status_code == 403
        refused = _revoke(site, issued["link"]["id"], role=role)
        assert refused.status_code == 403
    log_in(site, "admin")
    page = site.client.get(f"/patients/{site.world.patient_id}/links/{issued['link']['id']}/revoke")
    assert page.status_code == 403
    assert (
        "Only physicians, physical therapists, staff can do this; you are logged in as an administrator."
        in (_text(page.text))
    )
    chart = site.client.get(f"/patients/{site.world.patient_id}")
    assert chart.status_code == 200 and 'id="links"' not in chart.text
    assert site.client.get(f"/api/patient-link/{issued['token']}").status_code == 200


OTHER_EMAIL = "staff@elsewhere.example.org"
OTHER_PASSWORD = "pw-elsewhere-correct-horse"


def test_another_clinic__404_for_the_list_and_the_revoke(site: Site) -> None:
    issued = _issue(site)
    with transaction(site.engine) as db:
        other = create_clinic(db=db, actor="test", data=ClinicCreate(name="Elsewhere"))
        data = UserCreate(email=OTHER_EMAIL, role="staff", password=OTHER_PASSWORD, clinic_id=other.id)
        create_user(db=db, actor="test", data=data, now=site.clock())
    token = site.client.post("/api/auth/token", data={"username": OTHER_EMAIL, "password": OTHER_PASSWORD})
    stranger = {"Authorization": f"Bearer {token.json()['access_token']}"}
    at = f"/api/patients/{site.world.patient_id}/links"
    assert site.client.get(at, headers=stranger).status_code == 404
    assert _links(site).status_code == 200  # the clinic's own staff see them
    revoke = site.client.post(f"{at}/{issued['link']['id']}/revoke", json={"reason": "x"}, headers=stranger)
    assert revoke.status_code == 404
    assert site.client.get(f"/api/patient-link/{issued['token']}").status_code == 200
    # a link of this patient named under another patient of the same clinic: not found either
    assert _revoke(site, "00000000-0000-0000-0000-000000000000").status_code == 404
