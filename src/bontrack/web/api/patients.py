"""Patients, their episodes, the patient chart, and patients' one-time links."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from bontrack.assessments.kind import ASSESSMENT
from bontrack.auth.link_list import LinkRevoke, PatientLinkListed, links_of_patient, revoke_link
from bontrack.auth.links import PatientLinkCreate, issue_link
from bontrack.injections.kind import ADVERSE_EVENT, INJECTION_SESSION
from bontrack.outcomes.kind import OUTCOME
from bontrack.patient_reads import current_of_patient
from bontrack.patients import service as patients
from bontrack.patients.kind import EPISODE
from bontrack.patients.schemas import EpisodeCreate, EpisodeRead, PatientCreate, PatientRead
from bontrack.repository import Repository
from bontrack.screening.kind import SCREENING
from bontrack.storage.engine import POOL_SIZE
from bontrack.storage.versioned import Stored
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT
from bontrack.web.api.common import AUTHENTICATED, ERRORS, RecordId, patient_in_scope, tagged
from bontrack.web.api.schemas import Page, PatientChart, PatientLinkIssued
from bontrack.web.db_turns import database_turn
from bontrack.web.deps import (
    ISSUE_LINKS,
    READ_CLINICAL,
    WRITE_EPISODES,
    WRITE_PATIENTS,
    NowDep,
    PageDep,
    Principal,
    SessionDep,
    SettingsDep,
    check_role,
    clinic_scope,
    current_user,
    request_unit,
    require,
)
from bontrack.web.problems import ProblemError
from bontrack.web.settings import WebSettings
from bontrack.web.worker_threads import busy_threads, in_pool

router = APIRouter(prefix="/api", tags=["patients"], dependencies=AUTHENTICATED, responses=ERRORS)
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
ClinicQuery = Annotated[
    str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="limit to one clinic")
]


@router.get("/patients", response_model=Page[PatientRead])
def list_patients(
    db: SessionDep, principal: Reader, page: PageDep, clinic_id: ClinicQuery = None
) -> Page[PatientRead]:
    """Current patients, oldest registration first."""
    total, items = patients.page_patients(
        db=db,
        actor=principal.actor,
        clinic_id=clinic_scope(principal, clinic_id),
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/patients", status_code=201, response_model=PatientRead)
def create_patient(
    data: PatientCreate,
    db: SessionDep,
    principal: Annotated[Principal, Depends(require(WRITE_PATIENTS))],
    clinic_id: ClinicQuery = None,
) -> PatientRead:
    """Register a patient at the user's clinic (or the ``clinic_id`` given, for users of every clinic)."""
    clinic = clinic_scope(principal, clinic_id)
    if clinic is None:
        raise ProblemError(400, "Invalid input", "clinic_id: give the clinic the patient is registered at")
    return patients.create_patient(db=db, actor=principal.actor, clinic_id=clinic, data=data)


@router.get("/patients/{patient_id}", response_model=PatientRead)
def read_patient(patient_id: RecordId, db: SessionDep, principal: Reader, response: Response) -> PatientRead:
    """The current version of a patient."""
    return tagged(response, patient_in_scope(db, principal, patient_id))


# The chart's JSON, written in the route's own worker thread: FastAPI would check the returned
# chart against response_model again in another (a hop to the thread pool per request) before
# writing the same JSON (by alias, as here). Written from the versions as read, without building
# a PatientChart: that would validate each version again (each is a plain ``Stored``, read as its
# schema, not a ``Stored[XCreate]``) only to write the same JSON: the response_model
# (PatientChart) documents it, and tests/web/test_chart_route.py checks the two agree.
class _ChartJson(TypedDict):
    patient: Stored  # type: ignore[type-arg]
    episodes: list[Stored]  # type: ignore[type-arg]
    screenings: list[Stored]  # type: ignore[type-arg]
    assessments: list[Stored]  # type: ignore[type-arg]
    sessions: list[Stored]  # type: ignore[type-arg]
    adverse_events: list[Stored]  # type: ignore[type-arg]
    therapy_plans: list[Stored]  # type: ignore[type-arg]
    therapy_visits: list[Stored]  # type: ignore[type-arg]
    outcomes: list[Stored]  # type: ignore[type-arg]


_CHART_JSON: TypeAdapter[_ChartJson] = TypeAdapter(_ChartJson)
# what the chart holds besides the patient, in one query: each service's ``..._of_patient`` is its
# kind's Repository.of_patient and nothing more (were one to do more, the chart must call it)
_CHART_KINDS = tuple(
    Repository.of(kind)
    for kind in (
        EPISODE,
        SCREENING,
        ASSESSMENT,
        INJECTION_SESSION,
        ADVERSE_EVENT,
        THERAPY_PLAN,
        THERAPY_VISIT,
        OUTCOME,
    )
)


# The chart is read in one worker thread, not four: its dependencies are not FastAPI's (get_db's
# entry and exit, current_user and the route would each hop to the thread pool, and solving them
# cost more than reading the chart). The same steps in the same order, by the same functions: the
# request's turn at the database, its transaction (``request_unit``, as SessionDep), the log-in
# (``current_user``), the role, then the path parameter checked as FastAPI checks a route's
# (after the log-in: a bad id without a token is 401, not 422), then the chart.
chart_router = APIRouter(prefix="/api", tags=["patients"], responses=ERRORS)


# the path parameter, checked by pydantic as FastAPI checks a route's (the same constraints, the
# same errors at the same place), with public APIs only: no FastAPI internals to break on upgrade
_CHART_PATH: TypeAdapter[str] = TypeAdapter(RecordId)


# the parameter FastAPI would document for ``patient_id: RecordId`` (tests/web/test_chart_route.py
# compares it with GET /api/patients/{patient_id}'s)
_CHART_PARAMETERS = [
    {
        "name": "patient_id",
        "in": "path",
        "required": True,
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 36,
            "pattern": "^[A-Za-z0-9-]+$",
            "title": "Patient Id",
        },
    }
]


@chart_router.get(
    "/patients/{patient_id}/chart",
    response_model=PatientChart,
    openapi_extra={"parameters": _CHART_PARAMETERS},
)
async def read_patient_chart(request: Request) -> Response:
    """Everything current about a patient: episodes, screenings, examinations, sessions with their
    decisions, adverse events, physical therapy and outcomes."""
    settings: WebSettings = request.app.state.settings
    at = settings.clock()
    async with database_turn(request, settings):
        return await _in_chart_thread(request, settings, at)


# The charts' worker threads: two per CPU (``busy_threads``), no more than an engine's pool has
# connections (a chart holds one while it reads; more threads would wait for one). Handed the
# work directly, as run_in_threadpool would hand it to anyio's threads, but without anyio's
# per-call machinery (its capacity limiter, cancel scopes and run-time variables cost more on the
# event loop than the hop itself).
_CHART_THREADS = ThreadPoolExecutor(max_workers=busy_threads(POOL_SIZE), thread_name_prefix="bontrack-chart")


async def _in_chart_thread(request: Request, settings: WebSettings, at: datetime) -> Response:
    """``_chart_response`` in a chart thread (``worker_threads.in_pool``: a request cancelled
    meanwhile waits for its thread to finish before it lets go of its turn at the database)."""
    return await in_pool(_CHART_THREADS, _chart_response, request, settings, at)


def _chart_response(request: Request, settings: WebSettings, at: datetime) -> Response:
    with request_unit(request, settings) as db:
        principal = check_role(current_user(request, db, at, settings), READ_CLINICAL)
        try:
            patient_id = _CHART_PATH.validate_python(request.path_params["patient_id"])
        except ValidationError as invalid:
            found = invalid.errors(include_url=False)
            errors = [e | {"loc": ("path", "patient_id", *e["loc"])} for e in found]
            raise RequestValidationError(errors, body=None) from None
        return _chart(db, principal, patient_id)


def _chart(db: Session, principal: Principal, patient_id: str) -> Response:
    patient = patient_in_scope(db, principal, patient_id)
    episodes, screenings, assessments, sessions, adverse_events, plans, visits, outcomes = current_of_patient(
        db, principal.actor, patient_id, _CHART_KINDS
    )
    chart: _ChartJson = {
        "patient": patient,
        "episodes": episodes,
        "screenings": screenings,
        "assessments": assessments,
        "sessions": sessions,
        "adverse_events": adverse_events,
        "therapy_plans": plans,
        "therapy_visits": visits,
        "outcomes": outcomes,
    }
    return Response(_CHART_JSON.dump_json(chart, by_alias=True), media_type="application/json")


@router.get("/patients/{patient_id}/episodes", response_model=list[EpisodeRead])
def list_episodes(patient_id: RecordId, db: SessionDep, principal: Reader) -> list[EpisodeRead]:
    """A patient's current pain episodes."""
    patient_in_scope(db, principal, patient_id)
    return patients.episodes_of_patient(db=db, actor=principal.actor, patient_id=patient_id)


@router.post("/episodes", status_code=201, response_model=EpisodeRead)
def create_episode(
    data: EpisodeCreate, db: SessionDep, principal: Annotated[Principal, Depends(require(WRITE_EPISODES))]
) -> EpisodeRead:
    """Open a pain episode for a patient."""
    patient_in_scope(db, principal, data.patient_id)
    return patients.create_episode(db=db, actor=principal.actor, data=data)


@router.get("/episodes/{episode_id}", response_model=EpisodeRead)
def read_episode(episode_id: RecordId, db: SessionDep, principal: Reader, response: Response) -> EpisodeRead:
    """The current version of an episode."""
    episode = patients.get_episode(db=db, actor=principal.actor, episode_id=episode_id)
    return tagged(response, episode)


@router.post("/patient-links", status_code=201, response_model=PatientLinkIssued)
def create_patient_link(
    data: PatientLinkCreate,
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    at: NowDep,
    principal: Annotated[Principal, Depends(require(ISSUE_LINKS))],
) -> PatientLinkIssued:
    """Issue a one-time, expiring link through which the patient fills in the named forms."""
    patient_in_scope(db, principal, data.patient_id)
    secret, link = issue_link(db=db, actor=principal.actor, data=data, now=at)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return PatientLinkIssued(url=f"{base}/p/{secret}", token=secret, link=link)


LinkIssuer = Annotated[Principal, Depends(require(ISSUE_LINKS))]


@router.get("/patients/{patient_id}/links", response_model=list[PatientLinkListed])
def list_patient_links(
    patient_id: RecordId, db: SessionDep, principal: LinkIssuer
) -> list[PatientLinkListed]:
    """The patient's one-time links, newest first: when issued and by whom, the forms, when they
    expire, and when used or revoked (by whom, why). Never a link's secret (only its hash is kept)."""
    patient_in_scope(db, principal, patient_id)
    return links_of_patient(db=db, actor=principal.actor, patient_id=patient_id)


@router.post("/patients/{patient_id}/links/{link_id}/revoke", response_model=PatientLinkListed)
def revoke_patient_link(
    patient_id: RecordId,
    link_id: RecordId,
    data: LinkRevoke,
    db: SessionDep,
    at: NowDep,
    principal: LinkIssuer,
) -> PatientLinkListed:
    """Revoke a link that is still usable (sent to the wrong phone, say), with the reason: it stops
    working at once, and opens to "This link was withdrawn by the clinic; ask the clinic for a new
    one." (410). A link used, expired or revoked already: 409, nothing changed."""
    patient_in_scope(db, principal, patient_id)
    return revoke_link(
        db=db, actor=principal.actor, patient_id=patient_id, link_id=link_id, reason=data.reason, now=at
    )
