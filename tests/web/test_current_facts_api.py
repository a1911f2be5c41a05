"""Issue 11 through the API: the registry fills the check's current facts from its records (the
screening's date, the examination's date, the injector's role), refuses a non-physician injector,
and lets a physician override a block only as themself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bontrack.assessments.schemas import AssessmentCreate
from bontrack.assessments.service import create_assessment
from bontrack.audit.models import AuditEntry
from bontrack.injections.models import InjectionSessionRow
from bontrack.patients import service as patients
from bontrack.patients.schemas import ClinicianCreate, EpisodeCreate, PatientCreate
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.storage.engine import transaction
from bontrack.therapy.schemas import TherapyPlanCreate
from bontrack.therapy.service import create_plan
from factories import ACTOR, DAY, session_input
from web.conftest import Site

REASON = "discussed with the patient; benefit outweighs the risk"


def _patient(
    site: Site,
    number: str,
    *,
    screened_days_before: int | None,
    examined_days_before: int = 7,
    sex: str = "male",
    birth_date: dt.date = dt.date(1975, 2, 3),
) -> tuple[str, str]:
    """A patient of the world's clinic screened and examined the given days before DAY."""
    world = site.world
    with transaction(site.engine) as db:
        patient = patients.create_patient(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=PatientCreate(
                record_number=number, name=f"Patient {number}", birth_date=birth_date, sex=sex
            ),  # type: ignore[arg-type]
        )
        episode = patients.create_episode(
            db=db,
            actor=ACTOR,
            data=EpisodeCreate(
                patient_id=patient.id,
                diagnosis_codes=[{"code": "M54.2"}],  # type: ignore[list-item]
                pain_onset_date=dt.date(2024, 1, 10),
                conservative_care=["home exercise"],
                conservative_care_weeks=12,
            ),
        )
        if screened_days_before is not None:
            create_screening(
                db=db,
                actor=ACTOR,
                data=ScreeningCreate(
                    patient_id=patient.id,
                    date=DAY - dt.timedelta(days=screened_days_before),
                    pregnant=False,
                    breastfeeding=False,
                    infection_at_injection_site=False,
                ),
            )
        create_assessment(
            db=db,
            actor=ACTOR,
            data=AssessmentCreate.model_validate(
                {
                    "patient_id": patient.id,
                    "episode_id": episode.id,
                    "date": DAY - dt.timedelta(days=examined_days_before),
                    "assessor_id": world.clinician_id,
                    "trigger_points": [
                        {
                            "muscle": "upper_trapezius",
                            "side": side,
                            "taut_band": True,
                            "spot_tenderness": True,
                            "referred_pain": True,
                            "pain_recognition": True,
                            "local_twitch": False,
                        }
                        for side in ("left", "right")
                    ],
                }
            ),
        )
        create_plan(
            db=db,
            actor=ACTOR,
            data=TherapyPlanCreate(
                patient_id=patient.id,
                episode_id=episode.id,
                therapist_id=world.clinician_id,
                start_date=DAY,
                weeks=6,
                visits_per_week=2,
            ),
        )
    return patient.id, episode.id


def _body(site: Site, patient_id: str, episode_id: str, **extra: Any) -> dict[str, Any]:
    body = session_input(site.world, **extra).model_dump(mode="json", exclude_none=True)
    return body | {"patient_id": patient_id, "episode_id": episode_id}


def _check(site: Site, body: dict[str, Any]) -> dict[str, Any]:
    response = site.client.post("/api/sessions/check", json=body, headers=site.bearer("physician"))
    assert response.status_code == 200, response.text
    decision: dict[str, Any] = response.json()["decision"]
    return decision


def _codes(decision: dict[str, Any], severity: str) -> set[str]:
    return {f["code"] for f in decision["findings"] if f["severity"] == severity}


def test_check__screening_30_days_old_passes_31_blocks(site: Site) -> None:
    fresh = _patient(site, "S-30", screened_days_before=30)
    stale = _patient(site, "S-31", screened_days_before=31)
    allowed = _check(site, _body(site, *fresh))
    assert allowed["decision"] == "allow", allowed["findings"]
    blocked = _check(site, _body(site, *stale))
    assert blocked["decision"] == "block"
    assert _codes(blocked, "block") == {"screening.stale"}
    assert blocked["findings"][0]["code"] == "screening.stale"
    assert blocked["findings"][0]["advice"] == "Screen again today."


def test_check__no_screening_on_record_warns_its_date_is_unknown(site: Site) -> None:
    decision = _check(site, _body(site, *_patient(site, "S-none", screened_days_before=None)))
    assert "screening.date_unknown" in _codes(decision, "warn")


def test_check__a_woman_of_48_screened_a_week_ago_is_asked_about_pregnancy_today(site: Site) -> None:
    ids = _patient(site, "S-f48", screened_days_before=7, sex="female", birth_date=dt.date(1978, 1, 1))
    decision = _check(site, _body(site, *ids))
    assert _codes(decision, "warn") == {"screening.pregnancy_not_today"}
    same_day = _patient(site, "S-f48b", screened_days_before=0, sex="female", birth_date=dt.date(1978, 1, 1))
    assert _check(site, _body(site, *same_day))["decision"] == "allow"


def test_check__trigger_points_found_180_days_ago_current_181_stale(site: Site) -> None:
    current = _patient(site, "T-180", screened_days_before=0, examined_days_before=180)
    stale = _patient(site, "T-181", screened_days_before=0, examined_days_before=181)
    assert _check(site, _body(site, *current))["decision"] == "allow"
    decision = _check(site, _body(site, *stale))
    assert _codes(decision, "warn") == {"pathway.trigger_point_stale"}
    finding = next(f for f in decision["findings"] if f["code"] == "pathway.trigger_point_stale")
    assert finding["message"].endswith("upper trapezius left, upper trapezius right.")


def _therapist(site: Site) -> str:
    with transaction(site.engine) as db:
        return patients.create_clinician(
            db=db,
            actor=ACTOR,
            clinic_id=site.world.clinic_id,
            data=ClinicianCreate(name="Sam Okafor", role="physiotherapist"),
        ).id


def test_check__a_physiotherapist_as_injector_blocks_and_cannot_be_saved(site: Site) -> None:
    ids = _patient(site, "I-pt", screened_days_before=0)
    body = _body(site, *ids, injector_id=_therapist(site))
    decision = _check(site, body)
    assert _codes(decision, "block") == {"injector.not_qualified"}
    saved = site.client.post(
        "/api/sessions",
        json=body | {"override": {"reason": REASON}},
        headers=site.bearer("physician"),
    )
    assert saved.status_code == 400
    assert saved.json()["errors"][0]["field"] == "injector_id"
    message = saved.json()["errors"][0]["message"]
    # the role in words, as the therapist's and the overrider's checks say it (one check, three uses)
    assert message.startswith("Sam Okafor is recorded as physical therapist; only a physician may inject")


def _saved(site: Site) -> int:
    with transaction(site.engine) as db:
        return int(db.scalar(select(func.count()).select_from(InjectionSessionRow)) or 0)


def test_override__only_as_the_logged_in_physician(site: Site) -> None:
    ids = _patient(site, "O-1", screened_days_before=40)  # stale screening: blocked
    body = _body(site, *ids)
    before = _saved(site)
    someone_else = _therapist(site)
    for other in (someone_else, "00000000-0000-4000-8000-000000000000"):
        refused = site.client.post(
            "/api/sessions",
            json=body | {"override": {"clinician_id": other, "reason": REASON}},
            headers=site.bearer("physician"),
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["field"] == "override.clinician_id"
    assert _saved(site) == before
    mine = site.client.post(
        "/api/sessions",
        json=body | {"override": {"reason": REASON, "acknowledged": ["screening.stale"]}},
        headers=site.bearer("physician"),
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["data"]["override"]["clinician_id"] == site.world.clinician_id
    assert mine.json()["data"]["override"]["acknowledged"] == ["screening.stale"]
    with transaction(site.engine) as db:
        audited = db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "override", AuditEntry.record_id == mine.json()["id"]
            )
        ).all()
    assert [a.detail for a in audited] == [REASON]


def test_override__an_account_without_a_clinician_record_cannot_override(site: Site) -> None:
    with transaction(site.engine) as db:
        from bontrack.auth.models import UserRow

        row = db.scalar(select(UserRow).where(UserRow.role == "physician"))
        assert row is not None
        row.clinician_id = None
    ids = _patient(site, "O-2", screened_days_before=40)
    refused = site.client.post(
        "/api/sessions",
        json=_body(site, *ids) | {"override": {"reason": REASON}},
        headers=site.bearer("physician"),
    )
    assert refused.status_code == 400
    assert "not linked to your clinician record" in refused.json()["errors"][0]["message"]
