"""Another clinic's record answers exactly as a missing one; denied attempts are audited.

Issue 12, D7 and D8: a record of another clinic must not be told apart from one that does not
exist (same status, same words, in every endpoint and page), and a denied attempt (a wrong
password for a known account, a role without the right, a record of another clinic) leaves an
audit entry with outcome ``denied`` although its request's transaction rolls back.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bontrack.audit.models import AuditEntry
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user
from bontrack.patients.schemas import ClinicCreate
from bontrack.patients.service import create_clinic
from bontrack.storage.engine import transaction
from factories import session_input
from web.conftest import Site, csrf_from, email, log_in, make_site, password, populate

TODAY = "2026-03-02"  # the test clock's day
OTHER_EMAIL = "doc@elsewhere.example.org"
OTHER_PASSWORD = "elsewhere-correct-horse-1"


def _post(site: Site, path: str, body: dict[str, Any], role: str = "physician") -> dict[str, Any]:
    response = site.client.post(path, json=body, headers=site.bearer(role))
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def _records(site: Site) -> dict[str, dict[str, Any]]:
    """One record of every type at the site's clinic, as the API returned it (id and data)."""
    w = site.world
    physician = site.bearer("physician")
    chart = site.client.get(f"/api/patients/{w.patient_id}/chart", headers=physician).json()
    sent = session_input(w).model_dump(mode="json", exclude_none=True)
    session = _post(site, "/api/sessions", sent) | {"sent": sent}
    event = {
        "patient_id": w.patient_id,
        "session_id": session["id"],
        "event": "neck weakness",
        "onset_date": TODAY,
        "reported_date": TODAY,
        "severity": "mild",
    }
    visit = {"patient_id": w.patient_id, "plan_id": w.plan_id, "date": TODAY, "therapist_id": w.clinician_id}
    outcome = {
        "patient_id": w.patient_id,
        "episode_id": w.episode_id,
        "instrument": "nprs",
        "date": TODAY,
        "answers": {"1": 5},
    }
    return {
        "patients": chart["patient"],
        "episodes": chart["episodes"][0],
        "screenings": chart["screenings"][0],
        "assessments": chart["assessments"][0],
        "therapy/plans": chart["therapy_plans"][0],
        "sessions": session,
        "adverse-events": _post(site, "/api/adverse-events", event),
        "therapy/visits": _post(site, "/api/therapy/visits", visit),
        "outcomes": _post(site, "/api/outcomes", outcome),
    }


def _other_clinic_user(site: Site) -> dict[str, str]:
    """A physician of another clinic, with a bearer token."""
    with transaction(site.engine) as db:
        other = create_clinic(db=db, actor="test", data=ClinicCreate(name="Elsewhere"))
        data = UserCreate(email=OTHER_EMAIL, role="physician", password=OTHER_PASSWORD, clinic_id=other.id)
        create_user(db=db, actor="test", data=data, now=site.clock())
    response = site.client.post("/api/auth/token", data={"username": OTHER_EMAIL, "password": OTHER_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _requests(collection: str, record: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path with {id}, JSON body) of every endpoint that names a record of the collection."""
    at = f"/api/{collection}/{{id}}"
    out: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", at, {"data": _create_body(collection, record), "reason": "typed in the wrong field"}),
        ("POST", f"{at}/withdraw", {"reason": "entered in error"}),
        ("GET", f"{at}/history", None),
        ("GET", at, None),
    ]
    if collection == "patients":
        out += [("GET", f"{at}/chart", None), ("GET", f"{at}/episodes", None)]
    if collection == "therapy/plans":
        out.append(("GET", f"{at}/visits", None))
    return out


def _create_body(collection: str, record: dict[str, Any]) -> dict[str, Any]:
    data = dict(record["data"])
    if collection == "sessions":  # what is sent, without what the engine added
        data = record["sent"]
    if collection == "outcomes":
        data = {k: data[k] for k in ("patient_id", "episode_id", "instrument", "date", "answers")}
    return data


def _answer(site: Site, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
    response = site.client.request(method, path, json=body, headers=headers)
    return response.status_code, response.headers["content-type"], response.text


def test_api__another_clinics_record_answers_exactly_as_a_missing_one(site: Site) -> None:
    records = _records(site)
    stranger = _other_clinic_user(site)
    compared = 0
    for collection, record in records.items():
        for method, template, body in _requests(collection, record):
            missing_id = str(uuid.uuid4())
            theirs = _answer(site, method, template.format(id=record["id"]), body, stranger)
            missing = _answer(site, method, template.format(id=missing_id), body, stranger)
            label = f"{method} {template} ({collection})"
            assert theirs[0] == 404, f"{label}: {theirs}"
            assert theirs[:2] == missing[:2], label
            assert theirs[2].replace(record["id"], "ID") == missing[2].replace(missing_id, "ID"), label
            compared += 1
    assert compared == 9 * 4 + 3


def test_api__a_body_naming_another_clinics_patient_answers_as_a_missing_one(site: Site) -> None:
    stranger = _other_clinic_user(site)
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    missing_id = str(uuid.uuid4())
    theirs = site.client.post("/api/sessions", json=body, headers=stranger)
    missing = site.client.post("/api/sessions", json=body | {"patient_id": missing_id}, headers=stranger)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(site.world.patient_id, "ID") == missing.text.replace(missing_id, "ID")


def test_api__a_withdrawn_record_of_another_clinic_answers_as_a_missing_one(site: Site) -> None:
    screening = site.client.post(
        "/api/screenings",
        json={"patient_id": site.world.patient_id, "date": TODAY},
        headers=site.bearer("staff"),
    ).json()
    withdrawn = site.client.post(
        f"/api/screenings/{screening['id']}/withdraw",
        json={"reason": "entered twice"},
        headers=site.bearer("staff"),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    stranger = _other_clinic_user(site)
    missing_id = str(uuid.uuid4())
    for template in ("/api/screenings/{id}",):
        theirs = site.client.get(template.format(id=screening["id"]), headers=stranger)
        missing = site.client.get(template.format(id=missing_id), headers=stranger)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.text.replace(screening["id"], "ID") == missing.text.replace(missing_id, "ID")
    put = {"data": {"patient_id": site.world.patient_id, "date": TODAY}, "reason": "again"}
    theirs = site.client.put(f"/api/screenings/{screening['id']}", json=put, headers=stranger)
    missing = site.client.put(f"/api/screenings/{missing_id}", json=put, headers=stranger)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(screening["id"], "ID") == missing.text.replace(missing_id, "ID")
    # the clinic's own users still learn that it is withdrawn
    own = site.client.get(f"/api/screenings/{screening['id']}", headers=site.bearer("staff"))
    assert own.status_code == 404 and "withdrawn" in own.text


def _page_as_stranger(site: Site) -> None:
    _other_clinic_user(site)
    page = site.client.get("/login")
    response = site.client.post(
        "/login",
        data={
            "email": OTHER_EMAIL,
            "password": OTHER_PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303


def test_pages__another_clinics_record_shows_the_page_a_missing_one_shows(site: Site) -> None:
    records = _records(site)
    _page_as_stranger(site)
    patient_id = site.world.patient_id
    missing_id = str(uuid.uuid4())
    for suffix in ("", "/screenings/new", "/sessions/new", "/outcomes/new", "/therapy/visit"):
        theirs = site.client.get(f"/patients/{patient_id}{suffix}")
        missing = site.client.get(f"/patients/{missing_id}{suffix}")
        assert theirs.status_code == missing.status_code == 404, suffix
        assert theirs.text == missing.text, suffix
    kinds = {"screenings": "screening", "sessions": "injection_session", "outcomes": "outcome"}
    for collection, kind in kinds.items():
        record_id = records[collection]["id"]
        for action in ("history", "correct", "withdraw"):
            theirs = site.client.get(f"/patients/{patient_id}/records/{kind}/{record_id}/{action}")
            missing = site.client.get(f"/patients/{missing_id}/records/{kind}/{missing_id}/{action}")
            assert theirs.status_code == missing.status_code == 404, (kind, action)
            assert theirs.text == missing.text, (kind, action)


def test_pages__a_record_of_another_patient_shows_the_page_a_missing_one_shows(site: Site) -> None:
    """Within one's own chart, a record id of another chart is 'not in this chart' like a missing one."""
    records = _records(site)
    other = site.client.post(
        "/api/patients",
        json={"record_number": "P-900", "name": "Other Patient", "birth_date": "1970-06-15", "sex": "male"},
        headers=site.bearer("staff"),
    ).json()
    assert log_in(site, "physician") == 303
    record_id = records["screenings"]["id"]
    for action in ("history", "correct", "withdraw"):
        theirs = site.client.get(f"/patients/{other['id']}/records/screening/{record_id}/{action}")
        missing = site.client.get(f"/patients/{other['id']}/records/screening/{uuid.uuid4()}/{action}")
        assert theirs.status_code == missing.status_code == 404, action
        assert theirs.text == missing.text, action


# ---- denied attempts are audited ----------------------------------------------------------------


def _denied(site: Site) -> list[AuditEntry]:
    with transaction(site.engine) as db:
        query = select(AuditEntry).where(AuditEntry.outcome == "denied").order_by(AuditEntry.seq)
        return list(db.scalars(query))


def test_denied__another_clinics_record_is_audited_with_who_and_what(site: Site) -> None:
    stranger = _other_clinic_user(site)
    assert site.client.get(f"/api/patients/{site.world.patient_id}", headers=stranger).status_code == 404
    (entry,) = _denied(site)
    assert entry.actor == f"user:{OTHER_EMAIL}" and entry.action == "read"
    assert (entry.record_type, entry.record_id, entry.clinic_id) == (
        "patient",
        site.world.patient_id,
        site.world.clinic_id,
    )
    assert entry.detail is not None and f"GET /api/patients/{site.world.patient_id}" in entry.detail
    # nothing of the record itself, and no read entry of the record by that user
    assert entry.before is None and entry.after is None
    with transaction(site.engine) as db:
        reads = db.scalars(
            select(AuditEntry).where(AuditEntry.actor == f"user:{OTHER_EMAIL}", AuditEntry.action == "read")
        ).all()
    assert [r.outcome for r in reads] == ["denied"]


def test_denied__a_role_without_the_right_is_audited(site: Site) -> None:
    response = site.client.get(f"/api/patients/{site.world.patient_id}", headers=site.bearer("researcher"))
    assert response.status_code == 403
    body = session_input(site.world).model_dump(mode="json", exclude_none=True)
    assert site.client.post("/api/sessions", json=body, headers=site.bearer("staff")).status_code == 403
    entries = _denied(site)
    assert [(e.actor, e.action) for e in entries] == [
        (f"user:{email('researcher')}", "read"),
        (f"user:{email('staff')}", "create"),
    ]
    assert entries[1].detail is not None and "POST /api/sessions" in entries[1].detail


@pytest.mark.parametrize("face", ["api", "page"])
def test_denied__a_wrong_password_for_a_known_account_is_audited(site: Site, face: str) -> None:
    if face == "api":
        for who in (email("staff"), "nobody@clinic.example.org"):
            response = site.client.post(
                "/api/auth/token", data={"username": who, "password": "wrong-password-1"}
            )
            assert response.status_code == 401
    else:
        assert log_in(site, "staff", pw="wrong-password-1") == 401
    (entry,) = _denied(site)  # the unknown e-mail has no account to name: no entry
    assert (entry.actor, entry.action) == (f"user:{email('staff')}", "login")
    assert "wrong-password-1" not in str(entry.detail)


def test_denied__a_page_for_a_role_without_the_right_is_audited(site: Site) -> None:
    assert log_in(site, "researcher") == 303
    assert site.client.get(f"/patients/{site.world.patient_id}").status_code == 403
    (entry,) = _denied(site)
    assert entry.actor == f"user:{email('researcher')}"
    assert entry.detail is not None and f"GET /patients/{site.world.patient_id}" in entry.detail


def test_failed_request__keeps_the_reads_it_made(site: Site) -> None:
    """A request that fails after reading (its error could quote what it read) keeps those reads."""
    screening = site.client.post(
        "/api/screenings",
        json={"patient_id": site.world.patient_id, "date": TODAY},
        headers=site.bearer("staff"),
    ).json()
    moved = {"data": {"patient_id": str(uuid.uuid4()), "date": TODAY}, "reason": "moved"}
    response = site.client.put(f"/api/screenings/{screening['id']}", json=moved, headers=site.bearer("staff"))
    assert response.status_code == 400  # the named patient is not found; the screening was read
    with transaction(site.engine) as db:
        kept = db.scalars(
            select(AuditEntry).where(AuditEntry.record_id == screening["id"], AuditEntry.outcome == "failed")
        ).all()
    assert kept and {(e.action, e.actor) for e in kept} == {("read", f"user:{email('staff')}")}
    assert password("staff") not in response.text


def test_denied_and_failed__kept_on_each_engine_and_shown_to_admins(engine: Engine) -> None:
    site = make_site(engine, populate(engine))
    assert site.client.get("/api/patients", headers=site.bearer("researcher")).status_code == 403
    screening = site.client.post(
        "/api/screenings",
        json={"patient_id": site.world.patient_id, "date": TODAY},
        headers=site.bearer("staff"),
    ).json()
    moved = {"data": {"patient_id": str(uuid.uuid4()), "date": TODAY}, "reason": "moved"}
    assert (
        site.client.put(
            f"/api/screenings/{screening['id']}", json=moved, headers=site.bearer("staff")
        ).status_code
        == 400
    )
    items = site.client.get("/api/audit?limit=500", headers=site.bearer("admin")).json()["items"]
    outcomes = {(e["actor"], e["outcome"]) for e in items}
    assert (f"user:{email('researcher')}", "denied") in outcomes
    assert (f"user:{email('staff')}", "failed") in outcomes
    assert log_in(site, "admin") == 303
    assert "(denied)" in site.client.get("/audit").text


def test_api__a_reference_to_another_clinics_record_answers_as_a_missing_one(site: Site) -> None:
    """A body naming one's own patient and another clinic's episode, session or plan."""
    records = _records(site)
    stranger = _other_clinic_user(site)
    own = site.client.post(
        "/api/patients",
        json={"record_number": "E-1", "name": "Elsewhere Patient", "birth_date": "1970-06-15", "sex": "male"},
        headers=stranger,
    )
    assert own.status_code == 201, own.text
    me = own.json()["id"]
    clinician = records["therapy/plans"]["data"]["therapist_id"]
    bodies = {
        "/api/outcomes": (
            "episode_id",
            {"patient_id": me, "instrument": "nprs", "date": TODAY, "answers": {"1": 5}},
        ),
        "/api/adverse-events": (
            "session_id",
            {
                "patient_id": me,
                "event": "neck weakness",
                "onset_date": TODAY,
                "reported_date": TODAY,
                "severity": "mild",
            },
        ),
        "/api/therapy/visits": ("plan_id", {"patient_id": me, "date": TODAY, "therapist_id": clinician}),
        "/api/patient-links": ("episode_id", {"patient_id": me, "instruments": ["nprs"]}),
    }
    theirs_of = {
        "episode_id": records["episodes"]["id"],
        "session_id": records["sessions"]["id"],
        "plan_id": records["therapy/plans"]["id"],
    }
    for path, (field, body) in bodies.items():
        missing_id = str(uuid.uuid4())
        theirs = site.client.post(path, json=body | {field: theirs_of[field]}, headers=stranger)
        missing = site.client.post(path, json=body | {field: missing_id}, headers=stranger)
        assert theirs.status_code == missing.status_code == 404, (path, theirs.text)
        assert theirs.text.replace(theirs_of[field], "ID") == missing.text.replace(missing_id, "ID"), path


def test_errors__never_quote_stored_patient_data(site: Site) -> None:
    """A session dated before the stored birth date and pain onset: refused, naming the stored
    fields, without their values (the request's own values may be quoted)."""
    body = session_input(site.world).model_dump(mode="json", exclude_none=True) | {"date": "1950-01-02"}
    for path in ("/api/sessions/check", "/api/sessions"):
        response = site.client.post(path, json=body, headers=site.bearer("physician"))
        assert response.status_code == 400, response.text
        fields = [e["field"] for e in response.json()["errors"]]
        assert "stored record: patient.birth_date" in fields, fields
        assert "1978-05-04" not in response.text and "2025-01-10" not in response.text


def test_denied__an_expired_or_revoked_token_of_a_known_user_is_audited(site: Site) -> None:
    headers = site.bearer("staff")
    assert site.client.post("/api/auth/revoke", headers=headers).status_code == 204
    assert site.client.get("/api/patients", headers=headers).status_code == 401
    assert site.client.get("/api/patients", headers={"Authorization": "Bearer made-up"}).status_code == 401
    (entry,) = _denied(site)  # the made-up token names nobody: no entry
    assert (entry.actor, entry.action) == (f"user:{email('staff')}", "read")
    assert entry.detail is not None and "GET /api/patients" in entry.detail
    assert headers["Authorization"].split()[1] not in str(entry.detail)
