"""An administrator of one clinic manages and audits that clinic only, on every face, on SQLite too
(where no row-level security stands behind the services): another clinic's accounts, the accounts
of every clinic and another clinic's audit entries are answered as missing ones, and nothing of
them is changed. (The PostgreSQL runs with row-level security: tests/web/test_row_security_web.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bontrack.audit.models import AuditEntry
from bontrack.auth.schemas import UserCreate
from bontrack.auth.service import create_user, get_user_by_email
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate, PatientCreate
from bontrack.storage.engine import transaction
from factories import DAY
from web.conftest import START, Site, csrf_from, email, log_in, password

ADMIN_A = "admin-a@clinic.example.org"
DOC_B = "doc-b@other.example.org"


@dataclass
class TwoClinics:
    site: Site
    clinic_b: str
    patient_b: str
    doc_b: str  # the user id of clinic B's physician
    admin_all: str  # the user id of the admin of every clinic
    admin_a: dict[str, str]  # bearer header of clinic A's admin


@pytest.fixture
def two(site: Site) -> TwoClinics:
    with transaction(site.engine) as db:
        clinic_b = patients.create_clinic(
            db=db, actor="test:setup", data=ClinicCreate(name="Other Clinic")
        ).id
        patient_b = patients.create_patient(
            db=db,
            actor="test:setup",
            clinic_id=clinic_b,
            data=PatientCreate(
                record_number="OTH-1",
                name="Bertha Otherclinic",
                birth_date=DAY.replace(year=1980),
                sex="female",
            ),
        ).id
        for who, role, clinic in ((ADMIN_A, "admin", site.world.clinic_id), (DOC_B, "physician", clinic_b)):
            data = UserCreate(email=who, role=role, password=password(who), clinic_id=clinic)
            create_user(db=db, actor="test:setup", data=data, now=START)
        doc_b = get_user_by_email(db=db, email=DOC_B)
        admin_all = get_user_by_email(db=db, email=email("admin"))
        assert doc_b is not None and admin_all is not None
    token = site.client.post("/api/auth/token", data={"username": ADMIN_A, "password": password(ADMIN_A)})
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return TwoClinics(site, clinic_b, patient_b, doc_b.id, admin_all.id, bearer)


def test_clinic_admin__lists_only_its_clinics_accounts(two: TwoClinics) -> None:
    mine = two.site.client.get("/api/users", headers=two.admin_a)
    assert mine.status_code == 200, mine.text
    emails = {u["email"] for u in mine.json()}
    assert ADMIN_A in emails and email("physician") in emails
    assert DOC_B not in emails and email("admin") not in emails  # clinic B's; every clinic's
    everyone = two.site.client.get("/api/users", headers=two.site.bearer("admin"))
    assert {DOC_B, email("admin")} <= {u["email"] for u in everyone.json()}


@pytest.mark.parametrize("who", ["doc_b", "admin_all"])
def test_clinic_admin__cannot_change_another_clinics_or_every_clinics_account(
    two: TwoClinics, who: str
) -> None:
    """The escalation the QA pass found: a clinic admin set the every-clinic admin's password."""
    user_id = getattr(two, who)
    client = two.site.client
    new = {"password": "zebra-harmonica-tundra-58"}
    assert client.post(f"/api/users/{user_id}/password", json=new, headers=two.admin_a).status_code == 404
    for action in ("deactivate", "reactivate", "end-sessions"):
        answer = client.post(f"/api/users/{user_id}/{action}", headers=two.admin_a)
        assert answer.status_code == 404, (action, answer.text)
        assert "no user" in answer.text
    owner, secret = (DOC_B, password(DOC_B)) if who == "doc_b" else (email("admin"), password("admin"))
    still = client.post("/api/auth/token", data={"username": owner, "password": secret})
    assert still.status_code == 200  # the old password works, the account is active
    refused = client.post("/api/auth/token", data={"username": owner, "password": new["password"]})
    assert refused.status_code == 401


def test_clinic_admin__users_page_lists_and_changes_its_clinic_only(two: TwoClinics) -> None:
    client = two.site.client
    page = client.get("/login")
    logged = client.post(
        "/login",
        data={
            "email": ADMIN_A,
            "password": password(ADMIN_A),
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
    )
    assert logged.status_code == 303
    users = client.get("/users")
    assert users.status_code == 200
    assert email("staff") in users.text and DOC_B not in users.text and email("admin") not in users.text
    csrf = csrf_from(users.text)
    for action in ("deactivate", "reactivate", "end-sessions"):
        assert client.post(f"/users/{two.admin_all}/{action}", data={"csrf_token": csrf}).status_code == 404
    form = {"csrf_token": csrf, "password": "zebra-harmonica-tundra-58"}
    assert client.post(f"/users/{two.doc_b}/password", data=form).status_code == 404


def test_clinic_admin__users_page_offers_its_clinic_and_its_clinicians_only(two: TwoClinics) -> None:
    """QA pass 5: the add-a-user form of a clinic's administrator listed every clinic's clinician
    records (names, roles, clinics) and every clinic, and offered "Every clinic" (all refused)."""
    with transaction(two.site.engine) as db:
        patients.create_clinician(
            db=db,
            actor="test:setup",
            clinic_id=two.clinic_b,
            data=ClinicianCreate(name="Dr Bertrand Elsewhere", role="physician"),
        )
    client = two.site.client
    page = client.get("/login")
    form = {"email": ADMIN_A, "password": password(ADMIN_A), "csrf_token": csrf_from(page.text), "next": "/"}
    assert client.post("/login", data=form).status_code == 303
    users = client.get("/users").text
    assert "Dr Ada Reyes" in users  # clinic A's own clinician record
    assert "Dr Bertrand Elsewhere" not in users and "Other Clinic" not in users
    assert ">Every clinic</option>" not in users
    assert f'<option value="{two.site.world.clinic_id}" selected>' in users
    everyone = two.site.client
    everyone.post("/logout", data={"csrf_token": csrf_from(users)})
    assert log_in(two.site, "admin") == 303
    shown = everyone.get("/users").text
    assert "Dr Bertrand Elsewhere" in shown and "Other Clinic" in shown and ">Every clinic</option>" in shown


def test_clinic_admin__reads_only_its_clinics_audit_entries(two: TwoClinics) -> None:
    client = two.site.client
    b_patient = {"record_id": two.patient_b}
    # the every-clinic admin sees clinic B's entries (so the limit below is the clinic's)
    full = client.get("/api/audit", params=b_patient, headers=two.site.bearer("admin"))
    assert full.status_code == 200 and full.json()["total"] >= 1
    assert "Bertha Otherclinic" in full.text
    for params in (b_patient, {"actor": "test:setup"}, {"limit": 500}):
        found = client.get("/api/audit", params=params, headers=two.admin_a)
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        assert {e["clinic_id"] for e in items} <= {two.site.world.clinic_id}, params
        assert found.json()["total"] == len(items) or found.json()["total"] > len(items)
        assert "Bertha Otherclinic" not in found.text and "OTH-1" not in found.text
    assert client.get("/api/audit", params=b_patient, headers=two.admin_a).json()["total"] == 0
    # FHIR AuditEvent: the search and a read of one of B's entries
    events = client.get("/fhir/AuditEvent", params={"_count": 500}, headers=two.admin_a)
    assert events.status_code == 200, events.text
    assert two.patient_b not in events.text and "Bertha" not in events.text
    with transaction(two.site.engine) as db:
        b_seq = db.scalars(select(AuditEntry.seq).where(AuditEntry.clinic_id == two.clinic_b)).first()
        a_seq = db.scalars(
            select(AuditEntry.seq).where(AuditEntry.clinic_id == two.site.world.clinic_id)
        ).first()
    assert b_seq is not None and a_seq is not None
    assert client.get(f"/fhir/AuditEvent/{b_seq}", headers=two.admin_a).status_code == 404
    assert client.get(f"/fhir/AuditEvent/{a_seq}", headers=two.admin_a).status_code == 200
    assert client.get(f"/fhir/AuditEvent/{b_seq}", headers=two.site.bearer("admin")).status_code == 200


def test_clinic_admin__audit_page_shows_its_clinic_only(two: TwoClinics) -> None:
    client = two.site.client
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": ADMIN_A,
            "password": password(ADMIN_A),
            "csrf_token": csrf_from(page.text),
            "next": "/",
        },
    )
    audit = client.get("/audit", params={"record_id": two.patient_b})
    assert audit.status_code == 200
    assert "0 entries" in audit.text and "test:setup" not in audit.text  # who created B's patient
    everything = client.get("/audit")
    assert everything.status_code == 200 and two.patient_b[:8] not in everything.text


def test_one_person_one_account__a_clinician_record_is_linked_to_one_active_account(site: Site) -> None:
    """Two log-ins linked to one clinician record would both override blocks under one name."""
    second = {
        "email": "second@clinic.example.org",
        "role": "physician",
        "password": "quiet-harbour-lantern-47",
        "clinic_id": site.world.clinic_id,
        "clinician_id": site.world.clinician_id,  # already the demo physician's
    }
    refused = site.client.post("/api/users", json=second, headers=site.bearer("admin"))
    assert refused.status_code == 400, refused.text
    assert "already linked to the account" in refused.text and email("physician") in refused.text
    with transaction(site.engine) as db:
        assert get_user_by_email(db=db, email="second@clinic.example.org") is None


def test_one_person_one_account__reactivating_a_second_account_of_the_same_person_is_refused(
    site: Site,
) -> None:
    """The first account closed, a new one linked to the same person; the old one cannot come back."""
    old = _id_of(site, email("physician"))
    assert site.client.post(f"/api/users/{old}/deactivate", headers=site.bearer("admin")).status_code == 200
    second = {
        "email": "second@clinic.example.org",
        "role": "physician",
        "password": "quiet-harbour-lantern-47",
        "clinic_id": site.world.clinic_id,
        "clinician_id": site.world.clinician_id,
    }
    assert site.client.post("/api/users", json=second, headers=site.bearer("admin")).status_code == 201
    again = site.client.post(f"/api/users/{old}/reactivate", headers=site.bearer("admin"))
    assert again.status_code == 409, again.text
    assert "second@clinic.example.org" in again.text
    with transaction(site.engine) as db:
        found = get_user_by_email(db=db, email=email("physician"))
        assert found is not None and found.active is False


def _id_of(site: Site, who: str) -> str:
    with transaction(site.engine) as db:
        found = get_user_by_email(db=db, email=who)
        assert found is not None
        return found.id
