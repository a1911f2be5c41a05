"""Correcting, withdrawing and reading the history of records through the REST API.

"Nothing lost": a correction is a new version and the earlier one stays as it was; a withdrawal
is a new version marked withdrawn; every step leaves an audit entry; bad input writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from bontrack.audit.models import AuditEntry
from bontrack.audit.service import with_versions
from bontrack.injections.models import InjectionSessionRow
from bontrack.instruments import SCORER_VERSION
from bontrack.kinds import CORRECTABLE, KINDS
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, email, make_site, populate

REASON = "typed in the wrong field"


def _versions(site: Site) -> int:
    """Every stored version of every record type, and every audit entry of what was done (a
    failed request keeps only the reads it made, with outcome "failed")."""
    with transaction(site.engine) as db:
        rows = sum(int(db.scalar(select(func.count()).select_from(k.row)) or 0) for k in KINDS)
        done = select(func.count()).select_from(AuditEntry).where(AuditEntry.outcome == "ok")
        return rows + int(db.scalar(done) or 0)


def _audit(site: Site, **equal: Any) -> list[AuditEntry]:
    """The entries as the audit log is read (a write's versions named in it are read back)."""
    with transaction(site.engine) as db:
        return list(
            with_versions(
                db, db.scalars(select(AuditEntry).filter_by(**equal).order_by(AuditEntry.seq)).all()
            )
        )


def _screening(site: Site, **changes: Any) -> dict[str, Any]:
    body = {"patient_id": site.world.patient_id, "date": "2026-03-01", "medications": ["ibuprofen"]}
    return body | changes


def _saved(site: Site, path: str, body: dict[str, Any], role: str = "physician") -> dict[str, Any]:
    response = site.client.post(path, json=body, headers=site.bearer(role))
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def _session_body(site: Site, **extra: Any) -> dict[str, Any]:
    return session_input(site.world, **extra).model_dump(mode="json", exclude_none=True)


def _outcome_body(site: Site, answer: int, **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": site.world.patient_id,
        "episode_id": site.world.episode_id,
        "instrument": "nprs",
        "date": "2026-04-13",
        "answers": {"1": answer},
    } | extra


def test_correct__history_has_both_versions_and_the_earlier_is_unchanged(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    first = _saved(site, "/api/screenings", _screening(site), role="staff")
    corrected = _screening(site, medications=["ibuprofen", "warfarin"])
    response = site.client.put(
        f"/api/screenings/{first['id']}",
        json={"data": corrected, "reason": "warfarin left off"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2 and response.json()["data"]["medications"] == [
        "ibuprofen",
        "warfarin",
    ]
    history = site.client.get(f"/api/screenings/{first['id']}/history", headers=site.bearer("staff"))
    assert history.status_code == 200, history.text
    v1, v2 = history.json()
    assert v1 == first  # the earlier version, exactly as it was saved
    assert (v2["version"], v2["reason"], v2["withdrawn"]) == (2, "warfarin left off", False)
    assert v2["recorded_by"] == f"user:{email('physician')}" and v2["recorded_at"]
    current = site.client.get(f"/api/screenings/{first['id']}", headers=site.bearer("staff")).json()
    assert current["version"] == 2


def test_withdraw__gone_from_reads_and_chart_but_present_in_history(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    session = _saved(site, "/api/sessions", _session_body(site))
    response = site.client.post(
        f"/api/sessions/{session['id']}/withdraw",
        json={"reason": "entered for the wrong patient"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn"] is True and response.json()["version"] == 2
    chart = site.client.get(f"/api/patients/{site.world.patient_id}/chart", headers=site.bearer("staff"))
    assert chart.json()["sessions"] == []
    assert site.client.get(f"/api/sessions/{session['id']}", headers=site.bearer("staff")).status_code == 404
    history = site.client.get(f"/api/sessions/{session['id']}/history", headers=site.bearer("staff")).json()
    assert [(v["version"], v["withdrawn"], v["reason"]) for v in history] == [
        (1, False, None),
        (2, True, "entered for the wrong patient"),
    ]
    assert history[1]["data"] == session["data"]  # withdrawing changes nothing of the content


def test_reason__blank_or_missing_is_422_naming_reason_and_writes_nothing(site: Site) -> None:
    screening = _saved(site, "/api/screenings", _screening(site), role="staff")
    before = _versions(site)
    path = f"/api/screenings/{screening['id']}"
    for response in (
        site.client.put(path, json={"data": _screening(site), "reason": "   "}, headers=site.bearer("staff")),
        site.client.put(path, json={"data": _screening(site)}, headers=site.bearer("staff")),
        site.client.post(f"{path}/withdraw", json={"reason": ""}, headers=site.bearer("staff")),
        site.client.post(f"{path}/withdraw", json={}, headers=site.bearer("staff")),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["reason"]
    assert _versions(site) == before


def test_correct__invalid_data_names_the_field_and_writes_nothing(site: Site) -> None:
    screening = _saved(site, "/api/screenings", _screening(site), role="staff")
    before = _versions(site)
    response = site.client.put(
        f"/api/screenings/{screening['id']}",
        json={"data": _screening(site, allergies=["unicorn dust"]), "reason": REASON},
        headers=site.bearer("staff"),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "allergies[0]"
    moved = site.client.put(
        f"/api/screenings/{screening['id']}",
        json={"data": _screening(site, patient_id=screening["clinic_id"]), "reason": REASON},
        headers=site.bearer("staff"),
    )
    assert moved.status_code == 400 and moved.json()["errors"][0]["field"] == "patient_id"
    assert _versions(site) == before


def test_roles__as_for_creating_and_no_history_for_researchers(site: Site) -> None:
    session = _saved(site, "/api/sessions", _session_body(site))
    correction = {"data": _session_body(site, units=20), "reason": REASON}
    before = _versions(site)
    therapist = site.bearer("physical_therapist")
    assert (
        site.client.put(f"/api/sessions/{session['id']}", json=correction, headers=therapist).status_code
        == 403
    )
    withdraw = site.client.post(
        f"/api/sessions/{session['id']}/withdraw", json={"reason": REASON}, headers=therapist
    )
    assert withdraw.status_code == 403 and "physician" in withdraw.json()["detail"]
    researcher = site.bearer("researcher")
    assert site.client.get(f"/api/sessions/{session['id']}/history", headers=researcher).status_code == 403
    patient = {"data": {"record_number": "P-001", "name": "X", "birth_date": "1978-05-04", "sex": "female"}}
    refused = site.client.put(
        f"/api/patients/{site.world.patient_id}", json=patient | {"reason": REASON}, headers=researcher
    )
    assert refused.status_code == 403
    assert site.client.put(f"/api/sessions/{session['id']}", json=correction).status_code == 401
    assert _versions(site) == before


def test_roles__a_patient_link_cannot_correct_anything(site: Site) -> None:
    link = _saved(
        site,
        "/api/patient-links",
        {"patient_id": site.world.patient_id, "episode_id": site.world.episode_id, "instruments": ["nprs"]},
        role="staff",
    )
    forms = {"forms": [{"instrument": "nprs", "answers": {"1": 3}}]}
    (outcome,) = site.client.post(f"/api/patient-link/{link['token']}/outcomes", json=forms).json()
    as_link = {"Authorization": f"Bearer {link['token']}"}
    body = {"data": _outcome_body(site, 9), "reason": REASON}
    assert site.client.put(f"/api/outcomes/{outcome['id']}", json=body, headers=as_link).status_code == 401
    assert site.client.put(f"/api/patient-link/{link['token']}/outcomes", json=body).status_code == 405
    assert (
        site.client.get(f"/api/outcomes/{outcome['id']}", headers=site.bearer("staff")).json()["version"] == 1
    )


def test_audit__correction_withdrawal_and_history_read_leave_entries(site: Site) -> None:
    screening = _saved(site, "/api/screenings", _screening(site), role="staff")
    path = f"/api/screenings/{screening['id']}"
    staff = site.bearer("staff")
    site.client.put(
        path, json={"data": _screening(site, medications=[]), "reason": "none taken"}, headers=staff
    )
    site.client.post(f"{path}/withdraw", json={"reason": "screened the wrong patient"}, headers=staff)
    site.client.get(f"{path}/history", headers=site.bearer("physician"))
    entries = _audit(site, record_id=screening["id"])
    writes = [(e.action, e.version, e.detail) for e in entries if e.action != "read"]
    assert writes == [
        ("create", 1, None),
        ("update", 2, "none taken"),
        ("withdraw", 3, "screened the wrong patient"),
    ]
    update = next(e for e in entries if e.action == "update")
    assert update.before is not None and update.after is not None
    assert update.before["data"]["medications"] == ["ibuprofen"] and update.after["data"]["medications"] == []
    history_reads = [
        e.version
        for e in entries
        if e.action == "read" and e.detail == "history" and e.actor.endswith("physician@clinic.example.org")
    ]
    assert history_reads == [1, 2, 3]


def test_outcome_correction__answers_are_scored_again(site: Site) -> None:
    outcome = _saved(site, "/api/outcomes", _outcome_body(site, 6), role="staff")
    assert outcome["data"]["scoring"]["scores"]["pain_intensity"] == 6
    response = site.client.put(
        f"/api/outcomes/{outcome['id']}",
        json={"data": _outcome_body(site, 3), "reason": "patient pointed at 3, not 6"},
        headers=site.bearer("staff"),
    )
    assert response.status_code == 200, response.text
    scoring = response.json()["data"]["scoring"]
    assert scoring["scores"]["pain_intensity"] == 3 and scoring["scorer_version"] == SCORER_VERSION
    bad = site.client.put(
        f"/api/outcomes/{outcome['id']}",
        json={"data": _outcome_body(site, 11), "reason": REASON},
        headers=site.bearer("staff"),
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("answers")
    history = site.client.get(f"/api/outcomes/{outcome['id']}/history", headers=site.bearer("staff")).json()
    assert [v["data"]["scoring"]["scores"]["pain_intensity"] for v in history] == [6, 3]


def _session_rows(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(InjectionSessionRow)) or 0)


def test_session_correction__judged_again_and_a_block_needs_an_override(site: Site) -> None:
    session = _saved(site, "/api/sessions", _session_body(site))
    path = f"/api/sessions/{session['id']}"
    physician = site.bearer("physician")
    lower = site.client.put(
        path, json={"data": _session_body(site, units=20), "reason": "20 U each"}, headers=physician
    )
    assert lower.status_code == 200, lower.text
    assert lower.json()["data"]["total_units"] == 40  # the engine's arithmetic, not the caller's
    assert lower.json()["data"]["decision"]["dilution"]["total_units"] == 40
    rows = _session_rows(site)
    blocked = site.client.put(
        path, json={"data": _session_body(site, units=400), "reason": "more"}, headers=physician
    )
    assert blocked.status_code == 409
    assert blocked.json()["errors"][0]["field"] == "override"
    assert _session_rows(site) == rows
    override = {
        "clinician_id": site.world.clinician_id,
        "reason": "dose agreed with the clinic lead",
        "acknowledged": ["dose.exceeds_vials", "dose.session_max"],
    }
    saved = site.client.put(
        path,
        json={"data": _session_body(site, units=400, override=override), "reason": "more"},
        headers=physician,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["decision"]["decision"] == "block" and saved.json()["version"] == 3
    (entry,) = _audit(site, action="override", record_id=session["id"])
    assert entry.version == 3 and entry.detail == override["reason"]


def test_session_check__judges_a_correction_without_its_earlier_version(site: Site) -> None:
    session = _saved(site, "/api/sessions", _session_body(site))
    physician = site.bearer("physician")
    as_new = site.client.post("/api/sessions/check", json=_session_body(site, units=20), headers=physician)
    assert as_new.json()["decision"]["decision"] == "block"  # a second session the same day
    as_correction = site.client.post(
        f"/api/sessions/check?correcting={session['id']}",
        json=_session_body(site, units=20),
        headers=physician,
    )
    assert as_correction.status_code == 200 and as_correction.json()["decision"]["decision"] != "block"


def test_withdraw_session__refused_while_an_outcome_refers_to_it(site: Site) -> None:
    session = _saved(site, "/api/sessions", _session_body(site))
    followup = _outcome_body(site, 4, session_id=session["id"], weeks_after_session=6)
    outcome = _saved(site, "/api/outcomes", followup, role="staff")
    physician = site.bearer("physician")
    before = _versions(site)
    refused = site.client.post(
        f"/api/sessions/{session['id']}/withdraw", json={"reason": REASON}, headers=physician
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "id" and "1 outcome" in refused.json()["detail"]
    assert _versions(site) == before
    later = site.client.put(
        f"/api/sessions/{session['id']}",
        json={"data": _session_body(site, day=dt.date(2026, 5, 1)), "reason": REASON},
        headers=physician,
    )
    assert later.status_code == 400 and later.json()["errors"][0]["field"] == "date"
    site.client.post(f"/api/outcomes/{outcome['id']}/withdraw", json={"reason": REASON}, headers=physician)
    done = site.client.post(
        f"/api/sessions/{session['id']}/withdraw", json={"reason": REASON}, headers=physician
    )
    assert done.status_code == 200, done.text


def test_clinics__a_record_of_another_clinic_is_not_found(site: Site) -> None:
    from bontrack.auth.schemas import UserCreate
    from bontrack.auth.service import create_user
    from bontrack.patients.schemas import ClinicCreate
    from bontrack.patients.service import create_clinic

    screening = _saved(site, "/api/screenings", _screening(site), role="staff")
    with transaction(site.engine) as db:
        other = create_clinic(db=db, actor="test", data=ClinicCreate(name="Elsewhere"))
        user = UserCreate(
            email="staff@elsewhere.org", role="staff", password="distant-otter-ledger-31", clinic_id=other.id
        )
        create_user(db=db, actor="test", data=user, now=site.clock())
    token = site.client.post(
        "/api/auth/token", data={"username": "staff@elsewhere.org", "password": "distant-otter-ledger-31"}
    ).json()["access_token"]
    elsewhere = {"Authorization": f"Bearer {token}"}
    before = _versions(site)
    path = f"/api/screenings/{screening['id']}"
    assert (
        site.client.put(
            path, json={"data": _screening(site), "reason": REASON}, headers=elsewhere
        ).status_code
        == 404
    )
    assert site.client.post(f"{path}/withdraw", json={"reason": REASON}, headers=elsewhere).status_code == 404
    assert site.client.get(f"{path}/history", headers=elsewhere).status_code == 404
    assert _versions(site) == before


def _one_of_each(site: Site) -> dict[str, str]:
    """A current record of every correctable kind: the world's, and a session with what follows it."""
    from bontrack.injections.schemas import AdverseEventCreate
    from bontrack.injections.service import report_adverse_event
    from bontrack.outcomes.schemas import OutcomeCreate
    from bontrack.outcomes.service import record_outcome
    from bontrack.therapy.schemas import TherapyVisitCreate
    from bontrack.therapy.service import record_visit
    from factories import ACTOR, DAY, saved_session

    world = site.world
    with transaction(site.engine) as db:
        session = saved_session(db, world)
        report_adverse_event(
            db=db,
            actor=ACTOR,
            data=AdverseEventCreate(
                patient_id=world.patient_id,
                session_id=session.id,
                event="neck weakness",
                onset_date=DAY,
                reported_date=DAY,
                severity="mild",
            ),
        )
        record_visit(
            db=db,
            actor=ACTOR,
            data=TherapyVisitCreate(
                patient_id=world.patient_id, plan_id=world.plan_id, date=DAY, therapist_id=world.clinician_id
            ),
        )
        record_outcome(
            db=db,
            actor=ACTOR,
            data=OutcomeCreate.model_validate(
                {
                    "patient_id": world.patient_id,
                    "episode_id": world.episode_id,
                    "instrument": "nprs",
                    "date": DAY,
                    "answers": {"1": 6},
                }
            ),
        )
        return {k.name: str(db.scalars(select(k.row.id).limit(1)).one()) for k in CORRECTABLE.values()}


def test_correct__a_correction_that_changes_nothing_is_refused_for_every_record_type(site: Site) -> None:
    ids = _one_of_each(site)
    headers = site.bearer("physician")
    given = {}
    for kind in CORRECTABLE.values():
        path = f"/api/{kind.collection}/{ids[kind.name]}"
        stored = site.client.get(f"{path}/history", headers=headers).json()[-1]["data"]
        given[path] = {k: v for k, v in stored.items() if k in kind.correction.model_fields and v is not None}
    before = _versions(site)
    for kind, (path, data) in zip(CORRECTABLE.values(), given.items(), strict=True):
        response = site.client.put(path, json={"data": data, "reason": "checked again"}, headers=headers)
        assert response.status_code == 400, (kind.name, response.text)
        (error,) = response.json()["errors"]
        assert error["text"].startswith("Nothing was changed; change at least one field"), kind.name
    assert _versions(site) == before  # no version and no audited write
    # a real change is still saved
    path = f"/api/screenings/{ids['screening']}"
    stored = site.client.get(f"{path}/history", headers=site.bearer("staff")).json()[-1]["data"]
    changed = stored | {"medications": ["warfarin"]}
    saved = site.client.put(path, json={"data": changed, "reason": "warfarin"}, headers=site.bearer("staff"))
    assert saved.status_code == 200 and saved.json()["version"] == 2


def test_correct__the_product_by_its_brand_is_the_product_stored(site: Site) -> None:
    saved = _saved(site, "/api/sessions", _session_body(site))
    same = _session_body(site, product="BOTOX")
    response = site.client.put(
        f"/api/sessions/{saved['id']}",
        json={"data": same, "reason": "no change"},
        headers=site.bearer("physician"),
    )
    assert response.status_code == 400 and "Nothing was changed" in response.text
