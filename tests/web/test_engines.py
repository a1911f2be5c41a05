"""A smoke path through the API on both engines (SQLite file and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine

from factories import session_input
from web.conftest import email, log_in, make_site, populate


def test_smoke__log_in_record_read_and_link_on_each_engine(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    assert log_in(site, "physician") == 303
    site.client.cookies.clear()
    physician = site.bearer("physician")
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    saved = site.client.post("/api/sessions", json=body, headers=physician)
    assert saved.status_code == 201, saved.text
    chart = site.client.get(
        f"/api/patients/{site.world.patient_id}/chart", headers=site.bearer("staff")
    ).json()
    assert [s["id"] for s in chart["sessions"]] == [saved.json()["id"]]
    link = site.client.post(
        "/api/patient-links",
        json={
            "patient_id": site.world.patient_id,
            "episode_id": site.world.episode_id,
            "instruments": ["nprs"],
            "session_id": saved.json()["id"],
            "weeks_after_session": 0,
        },
        headers=physician,
    ).json()
    forms = {"forms": [{"instrument": "nprs", "answers": {"1": 3}}]}
    assert site.client.post(f"/api/patient-link/{link['token']}/outcomes", json=forms).status_code == 201
    assert site.client.post(f"/api/patient-link/{link['token']}/outcomes", json=forms).status_code == 410
    research = site.client.get("/api/research/patients", headers=site.bearer("researcher")).json()
    assert research["total"] == 1 and research["items"][0]["outcomes"]
    audit = site.client.get("/api/audit?limit=500", headers=site.bearer("admin")).json()
    assert any(e["actor"] == f"user:{email('physician')}" and e["action"] == "create" for e in audit["items"])
