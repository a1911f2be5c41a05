"""A registry that holds year-9999 and year-0001 records still serves every page and API read.

The records are written below the validation (at the storage level, as an import from another
system or an older version could have left them); then a logged-in physician reads every page
and every GET of the API: no 5xx anywhere (D1). The input side refuses such dates (D2).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bontrack import records
from bontrack.assessments.models import AssessmentRow
from bontrack.assessments.service import assessments_of_patient
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate
from bontrack.injections.service import report_adverse_event
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeCreate
from bontrack.outcomes.service import record_outcome
from bontrack.patients import service as patients
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.screening.models import ScreeningRow
from bontrack.screening.service import screenings_of_patient
from bontrack.storage.engine import transaction
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyVisitCreate
from bontrack.therapy.service import get_plan, record_visit
from factories import ACTOR, DAY, saved_session, session_input
from web.conftest import Site, log_in

FAR = dt.date(9999, 12, 31)
EARLY = dt.date(1, 1, 1)
EXTREMES = (FAR, EARLY)


@dataclass
class Poisoned:
    """Ids of the poisoned records, by the page's record kind."""

    patients: list[str] = field(default_factory=list)
    by_kind: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # kind -> (patient, id)

    def add(self, kind: str, patient_id: str, record_id: str) -> None:
        self.by_kind.setdefault(kind, []).append((patient_id, record_id))


def _copy(db: Any, row_cls: type[records.VersionedRow], read: Any, **changes: Any) -> str:
    """A new record: a stored one's content with ``changes``, written without validation."""
    data: BaseModel = read.data.model_copy(update=changes)
    return records.create(db, row_cls=row_cls, data=data, clinic_id=read.clinic_id, actor=ACTOR).id


def poison(site: Site) -> Poisoned:
    """Year-9999 and year-0001 versions of every record type, on the world's patient and on two
    patients born on those dates."""
    world = site.world
    out = Poisoned()
    with transaction(site.engine) as db:
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        episode = patients.get_episode(db=db, actor=ACTOR, episode_id=world.episode_id)
        screening = screenings_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)[0]
        assessment = assessments_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)[0]
        plan = get_plan(db=db, actor=ACTOR, plan_id=world.plan_id)
        session = saved_session(db, world)
        event = report_adverse_event(
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
        visit = record_visit(
            db=db,
            actor=ACTOR,
            data=TherapyVisitCreate(
                patient_id=world.patient_id, plan_id=world.plan_id, date=DAY, therapist_id=world.clinician_id
            ),
        )
        outcome = record_outcome(
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
        out.patients.append(world.patient_id)
        for day in EXTREMES:
            pid = world.patient_id
            out.add("episode", pid, _copy(db, EpisodeRow, episode, pain_onset_date=day))
            out.add("screening", pid, _copy(db, ScreeningRow, screening, date=day))
            out.add("assessment", pid, _copy(db, AssessmentRow, assessment, date=day))
            out.add("therapy_plan", pid, _copy(db, TherapyPlanRow, plan, start_date=day))
            out.add("therapy_visit", pid, _copy(db, TherapyVisitRow, visit, date=day))
            moment = dt.datetime.combine(day, dt.time(8, 30))
            sid = _copy(
                db,
                InjectionSessionRow,
                session,
                date=day,
                lot_expiry=day,
                reconstituted_at=moment,
                administered_at=moment,
            )
            out.add("injection_session", pid, sid)
            out.add(
                "adverse_event", pid, _copy(db, AdverseEventRow, event, onset_date=day, reported_date=day)
            )
            out.add("outcome", pid, _copy(db, OutcomeRow, outcome, date=day))
            out.add(
                "outcome",
                pid,
                _copy(db, OutcomeRow, outcome, date=day, session_id=sid, weeks_after_session=6),
            )
            # a patient born on that day, with a session and a plan on it
            other = _copy(db, PatientRow, patient, birth_date=day, record_number=f"P-{day.year}")
            out.patients.append(other)
            out.add("patient", other, other)
            own_episode = _copy(db, EpisodeRow, episode, patient_id=other, pain_onset_date=day)
            out.add("episode", other, own_episode)
            out.add(
                "injection_session",
                other,
                _copy(db, InjectionSessionRow, session, patient_id=other, episode_id=own_episode, date=day),
            )
            out.add(
                "therapy_plan",
                other,
                _copy(db, TherapyPlanRow, plan, patient_id=other, episode_id=own_episode, start_date=day),
            )
            out.add(
                "outcome",
                other,
                _copy(db, OutcomeRow, outcome, patient_id=other, episode_id=own_episode, date=day),
            )
    return out


PAGE_FORMS = (
    "assessments/new",
    "screenings/new",
    "therapy/new",
    "therapy/visit",
    "outcomes/new",
    "sessions/new",
    "episodes/new",
    "adverse-events/new",
    "links/new",
    "visits/new",
)


def page_paths(found: Poisoned) -> list[str]:
    paths = ["/", "/patients", "/patients?q=P-", "/patients/new", "/report", "/audit"]
    for days in ("0", "14", "365"):
        for back in ("0", "84", "3650"):
            paths.append(f"/worklist?days={days}&back={back}")
    for pid in found.patients:
        paths += [f"/patients/{pid}", f"/patients/{pid}?withdrawn=true"]
        paths += [f"/patients/{pid}/{form}" for form in PAGE_FORMS]
    for kind, ids in found.by_kind.items():
        for pid, rid in ids:
            for action in ("history", "withdraw", "correct"):
                paths.append(f"/patients/{pid}/records/{kind}/{rid}/{action}")
    return paths


PARAMS = {  # path parameter -> record kind whose ids fill it
    "patient_id": "patient",
    "episode_id": "episode",
    "screening_id": "screening",
    "assessment_id": "assessment",
    "session_id": "injection_session",
    "event_id": "adverse_event",
    "plan_id": "therapy_plan",
    "visit_id": "therapy_visit",
    "outcome_id": "outcome",
}


def api_paths(site: Site, found: Poisoned) -> list[str]:
    paths = []
    spec = site.client.get("/openapi.json").json()
    for template, operations in spec["paths"].items():
        if "get" not in operations or "{token}" in template:
            continue
        names = [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "path"]
        if not names:
            paths.append(template)
            continue
        assert len(names) == 1, template
        if names[0] == "lot":  # a recall: the lot's text, not a record id
            paths.append(template.replace("{lot}", "C1234"))
            continue
        kind = PARAMS[names[0]]
        ids = [rid for _pid, rid in found.by_kind.get(kind, [])]
        if kind == "patient":
            ids = found.patients
        for rid in ids:
            paths.append(template.replace("{" + names[0] + "}", rid))
    for day in ("2026-03-02", "1900-01-01", "2100-12-31"):
        paths += [f"/api/worklist?date={day}", f"/api/worklist?date={day}&days=366"]
    return paths


def test_poisoned_registry__every_page_and_api_read_answers_without_a_server_error(site: Site) -> None:
    found = poison(site)
    # a server error is answered (500), not raised into the test, so every failing path is listed
    client = TestClient(
        site.client.app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False
    )
    site = replace(site, client=client)
    assert log_in(site, "physician") == 303
    failures = []
    for path in page_paths(found):
        response = site.client.get(path)
        if response.status_code >= 500:
            failures.append(f"page {path} -> {response.status_code}")
    site.client.cookies.clear()
    headers = site.bearer("physician")
    api = api_paths(site, found)
    assert len(api) > 30
    for path in api:
        response = site.client.get(path, headers=headers)
        if response.status_code >= 500:
            failures.append(f"api {path} -> {response.status_code}")
    # what only a researcher (de-identified: age bands, days from onset) or an admin reads
    for role, path in [
        ("researcher", "/api/research/patients"),
        ("researcher", "/api/report"),
        ("admin", "/api/audit?limit=500"),
    ]:
        response = site.client.get(path, headers=site.bearer(role))
        if response.status_code != 200:
            failures.append(f"{role} {path} -> {response.status_code}")
    assert log_in(site, "researcher") == 303
    for path in ("/patients", "/report"):
        response = site.client.get(path)
        if response.status_code != 200:
            failures.append(f"researcher page {path} -> {response.status_code}")
    site.client.cookies.clear()
    # the engine judges a new plan in a stored context that holds such dates
    for patient_id, episode_id in found.by_kind["episode"]:
        body = session_input(site.world).model_dump(mode="json", exclude_none=True)
        body |= {"patient_id": patient_id, "episode_id": episode_id}
        response = site.client.post("/api/sessions/check", json=body, headers=headers)
        if response.status_code >= 500:
            failures.append(f"check of {patient_id}/{episode_id} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def test_poisoned_registry__the_chart_flags_the_dates_it_cannot_place(site: Site) -> None:
    poison(site)
    assert log_in(site, "physician") == 303
    page = site.client.get(f"/patients/{site.world.patient_id}")
    assert page.status_code == 200
    assert "9999-12-31" in page.text  # shown as stored, not hidden
    assert "6 dates outside 1900 to 2100 drawn at the edge" in page.text  # 4 outcomes, 2 sessions


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_worklist_query_date__outside_1900_2100_is_a_4xx_naming_the_parameter(site: Site, day: str) -> None:
    response = site.client.get(f"/api/worklist?date={day}", headers=site.bearer("physician"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "date"
    assert "1900-01-01" in response.json()["errors"][0]["message"]


def test_page_forms__text_numbers_still_save_and_out_of_range_dates_are_shown_on_the_field(
    site: Site,
) -> None:
    from web.test_pages import count, post_form, session_form

    assert log_in(site, "physician") == 303
    path = f"/patients/{site.world.patient_id}/sessions/new"
    status, html = post_form(site, path, session_form(site, date="9999-12-31"))
    assert status == 400 and 'id="err-date"' in html and "1900-01-01" in html
    assert count(site, InjectionSessionRow) == 0
    status, _html = post_form(site, path, session_form(site))  # units "25" typed in the form
    assert status == 303
    assert count(site, InjectionSessionRow) == 1


@pytest.mark.parametrize("stored", [FAR, EARLY, dt.date.max, dt.date.min])
def test_trend__a_stored_date_outside_1900_2100_is_drawn_at_the_edge_and_counted(stored: dt.date) -> None:
    from bontrack.web.trend import WIDTH, Marker, Series, trend_svg

    points = [(DAY, 6.0), (stored, 3.0)]
    svg = str(trend_svg([Series("NPRS", 0, 10, "#c0392b", points)], [Marker(stored, "session")]))
    assert "2 dates outside 1900 to 2100 drawn at the edge" in svg
    assert f"on {stored}" in svg  # the tooltip names the stored date
    xs = [float(x) for x in re.findall(r'<circle cx="([-\d.]+)"', svg)]
    assert len(xs) == 2 and all(0 <= x <= WIDTH for x in xs), xs


def test_a_recorded_time_is_sent_as_utc_with_z_whether_naive_or_with_an_offset() -> None:
    """UtcTime's JSON: a naive time (UTC, as stored) as its text with Z, microseconds kept; one
    with an offset converted to UTC first; the year-0001 and year-9999 extremes too."""
    from pydantic import TypeAdapter

    from bontrack.schemas import UtcTime

    sent = TypeAdapter(UtcTime)
    plus_two = dt.timezone(dt.timedelta(hours=2))
    cases = {
        dt.datetime(2026, 3, 2, 9, 0): "2026-03-02T09:00:00Z",
        dt.datetime(2026, 3, 2, 9, 0, 0, 1): "2026-03-02T09:00:00.000001Z",
        dt.datetime(2026, 3, 2, 9, 0, tzinfo=plus_two): "2026-03-02T07:00:00Z",
        dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC): "2026-03-02T09:00:00Z",
        dt.datetime(1, 1, 1): "0001-01-01T00:00:00Z",
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999): "9999-12-31T23:59:59.999999Z",
    }
    for value, text in cases.items():
        assert sent.dump_json(value) == f'"{text}"'.encode(), value
