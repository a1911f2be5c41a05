"""Shapes the API returns that no domain service defines (pages, the chart, tokens)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from bontrack.assessments.schemas import AssessmentRead
from bontrack.auth.links import PatientLinkRead
from bontrack.injections.schemas import AdverseEventRead, SessionRead
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.schemas import EpisodeRead, PatientRead
from bontrack.schemas import Input, Text, UtcTime
from bontrack.screening.schemas import ScreeningRead
from bontrack.therapy.schemas import TherapyPlanRead, TherapyVisitRead

T = TypeVar("T")
C = TypeVar("C", bound=BaseModel)
Version = Annotated[
    int | None,
    Field(
        ge=1,
        description="the version the change is made from (as read; or the If-Match header): when "
        "another version is current, 409 and nothing is saved. Optional: without it the change is "
        "made to whatever version is current.",
    ),
]


class Correction(Input, Generic[C]):
    """A correction: the whole record as when it was created, and why it is corrected."""

    data: C
    reason: Text = Field(description="why the record is corrected (kept with the new version)")
    version: Version = None


class Withdrawal(Input):
    """A withdrawal: why the record is withdrawn (kept with the withdrawn version)."""

    reason: Text = Field(description="why the record is withdrawn, e.g. entered for the wrong patient")
    version: Version = None


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` counts every item, ``items`` holds at most ``limit``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class PatientChart(BaseModel):
    """Everything current about one patient."""

    patient: PatientRead
    episodes: list[EpisodeRead]
    screenings: list[ScreeningRead]
    assessments: list[AssessmentRead]
    sessions: list[SessionRead]
    adverse_events: list[AdverseEventRead]
    therapy_plans: list[TherapyPlanRead]
    therapy_visits: list[TherapyVisitRead]
    outcomes: list[OutcomeRead]


class TokenResponse(BaseModel):
    """OAuth2 bearer token (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    expires_at: UtcTime


class OwnPasswordChanged(BaseModel):
    """Your own password was changed: how many of your other sessions and API tokens ended."""

    sessions_ended: int
    detail: str


class PatientLinkIssued(BaseModel):
    """A new patient link: the URL is shown only now (the registry keeps only its hash)."""

    url: str
    token: str
    link: PatientLinkRead


class PatientLinkForm(BaseModel):
    """One form a link asks the patient to fill in."""

    instrument: str
    title: str


class PatientLinkView(BaseModel):
    """What a patient sees through their link: the clinic that asks, the forms to fill in, whether
    they were sent, and until when the link works. Nothing else: no record ids, no clinic or patient
    ids, no scoring and no staff names (a used link answers 410)."""

    clinic: str
    instruments: list[str]
    forms: list[PatientLinkForm]
    submitted: bool
    expires_at: UtcTime


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: UtcTime
    actor: str
    action: str
    clinic_id: str | None
    record_type: str | None
    record_id: str | None
    version: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None
    outcome: Literal["ok", "denied", "failed"] = Field(
        description="ok: done; denied: refused (wrong password of a known account, a role without "
        "the right, a record of another clinic); failed: a read made by a request that then failed"
    )
