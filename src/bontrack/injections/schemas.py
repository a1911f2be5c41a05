"""Injection schemas. ``SessionCreate`` is the plan; ``SessionRecord`` adds what the engine said."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WrapValidator
from pydantic_core import PydanticCustomError

from bontrack.clinical.findings import Decision
from bontrack.clinical.plan import MAX_VIALS, site_units_problem
from bontrack.injections.ae_terms import Relatedness, Status, coded
from bontrack.records import Stored
from bontrack.schemas import (
    CalendarDate,
    EventDate,
    Flag,
    FreeText,
    Id,
    Input,
    LocalTime,
    NoControls,
    Text,
    at_most,
)

Guidance = Literal["emg", "ultrasound", "palpation"]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


def _site_units(units: float) -> float:
    """At most the largest single-session dose of any product (the knowledge base's), as
    ``bontrack check`` bounds it: a sane input bound, not the label's limit (the engine's)."""
    from bontrack.knowledge import load_knowledge

    wrong = site_units_problem(units, load_knowledge())
    if wrong is not None:
        raise PydanticCustomError("units_bound", wrong)
    return units


SiteUnits = Annotated[
    Positive,
    AfterValidator(_site_units),
    Field(description="at most the largest single-session dose of any product in the knowledge base"),
]


class InjectionSite(Input):
    muscle: FreeText
    side: FreeText
    units: SiteUnits
    volume_ml: Positive | None = Field(None, description="left out: computed from the dilution")


FindingCode = Annotated[str, Field(min_length=1, max_length=80, description="a finding's code"), NoControls]
MAX_ACKNOWLEDGED = 50  # more codes than the engine has block rules: no plan has more blocks


class Override(Input):
    """A clinician's decision to go ahead with a blocked plan: every block acknowledged, each on
    its own, and the written reason (``injections.authority.check_override``)."""

    clinician_id: Id | None = Field(
        None,
        description="the overriding physician's clinician record; through the API and the pages it is "
        "always the logged-in physician's own (left out: filled in from the account; anyone else: 400)",
    )
    reason: Text = Field(
        description="why going ahead outweighs the blocks, in words: when the plan is saved, at least the "
        "knowledge base's pathway.override_reason_min_words (3) different words with "
        "pathway.override_reason_min_chars (15) letters between them (a word written again counts once; "
        "numbers and punctuation do not count; else 409 naming override.reason). A stored reason is kept "
        "as written"
    )
    acknowledged: Annotated[list[FindingCode], at_most(MAX_ACKNOWLEDGED, "codes")] = Field(
        default_factory=list,
        description="the code of every blocking finding the physician overrides (decision.findings with "
        "severity block, e.g. screening.stale); it must cover each block present when the session is "
        "saved (else 409 naming the block). Stored as the blocks acknowledged, in the decision's order; "
        "empty in records saved before it was asked",
    )


class SessionCreate(Input):
    patient_id: Id
    episode_id: Id
    date: EventDate
    injector_id: Id
    product: Annotated[str, Field(min_length=1, description="product id or brand name"), NoControls]
    vial_units: Positive
    vial_count: Annotated[int, Field(ge=1, le=MAX_VIALS, strict=True)] = 1
    lot: Annotated[str, Field(min_length=1, max_length=64), NoControls]
    lot_expiry: CalendarDate
    vial_id: Annotated[
        str, Field(max_length=64, description="the vial's own label or barcode, if any"), NoControls
    ] = ""
    diluent: Annotated[str, Field(max_length=200), NoControls] = "0.9% sodium chloride, preservative-free"
    diluent_ml: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
    reconstituted_at: LocalTime | None = None
    administered_at: LocalTime | None = None
    guidance: Guidance
    sites: list[InjectionSite] = Field(min_length=1)
    override: Override | None = None


class SessionRecord(SessionCreate):
    """What is stored: the plan with the canonical product, and the engine's decision."""

    physical_therapy: bool
    total_units: float
    knowledge_version: str
    decision: Decision


Severity = Literal["mild", "moderate", "severe"]


class AdverseEventCreate(Input):
    patient_id: Id
    session_id: Id
    event: Text = Field(description="what happened, e.g. dysphagia, neck weakness, flu-like symptoms")
    onset_date: EventDate
    reported_date: EventDate
    severity: Severity
    serious: Flag = False
    status: Annotated[
        Status | None,
        WrapValidator(coded("status")),
        Field(
            description="how the event stands now, a FHIR R4 AdverseEvent.outcome code (resolved, "
            "recovering, ongoing, resolvedWithSequelae, fatal, unknown); left out: not recorded yet "
            "(records saved before it was asked have none). Open: recovering, ongoing or unknown",
        ),
    ] = None
    relatedness: Annotated[
        Relatedness | None,
        WrapValidator(coded("relatedness")),
        Field(
            description="how likely the injection caused the event, a WHO-UMC causality category "
            "(certain, probable, possible, unlikely, conditional, unassessable); left out: not assessed yet",
        ),
    ] = None
    outcome: Annotated[
        str, Field(max_length=2000, description="notes on the outcome, in the clinician's words"), NoControls
    ] = ""


SessionRead = Stored[SessionRecord]
AdverseEventRead = Stored[AdverseEventCreate]
