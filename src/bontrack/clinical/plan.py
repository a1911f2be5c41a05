"""The input of a safety check: a proposed injection session with the patient's context.

Validation happens in two layers, both reported with the field's path (``plan.sites[0].units``):
pydantic checks types and ranges; then the knowledge base checks ids (product, muscle, side,
vial size) and the cross-field facts (dates in order, reconstitution required for a powder).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from bontrack.clinical.findings import number
from bontrack.dates import EARLIEST, LATEST, before_birth, not_a_date, not_a_time
from bontrack.errors import FieldError, field_errors
from bontrack.errors import PlanInputError as PlanInputError  # the name the check contract raises
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.sites import muscle_side_errors

Sex = Literal["female", "male", "other", "unknown"]
# Numbers and yes/no answers are taken only as JSON numbers and booleans: "25" or "yes" is an error.
Units = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Flag = Annotated[bool, Field(strict=True)]


def _in_calendar(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{value} is out of range; allowed: {EARLIEST} to {LATEST}")
    return value


def _clock_in_calendar(value: datetime) -> datetime:
    _in_calendar(value.date())
    return value


def _calendar_day(value: object) -> object:
    """Text of a day that is none (2026-02-30) in the words every face uses, not pydantic's."""
    if isinstance(value, str) and len(value) == 10 and (wrong := not_a_date(value)) is not None:
        raise PydanticCustomError("date_value", wrong)
    return value


def _calendar_time(value: object) -> object:
    if isinstance(value, str) and value[:4].isdigit() and (wrong := not_a_time(value)) is not None:
        raise PydanticCustomError("datetime_value", wrong)
    return value


# Every date of the check lies in 1900-01-01 .. 2100-12-31 (bontrack.dates: a year 9999 or 0001 is
# a typing error, and date arithmetic must stay inside what the calendar types hold).
Day = Annotated[date, BeforeValidator(_calendar_day), AfterValidator(_in_calendar)]
Clock = Annotated[datetime, BeforeValidator(_calendar_time), AfterValidator(_clock_in_calendar)]

# Plausibility bounds of the input, not clinical rules: a date outside them is a typing error.
OLDEST_AGE_YEARS = 120
MAX_VIALS = 20  # vials prepared for one session (the registry's bound too: injections.schemas)
EARLIEST_LOT_EXPIRY = date(2000, 1, 1)


def lot_expiry_problem(expiry: date) -> str | None:
    """What is wrong with a lot's expiry date as typed (None: nothing): the one bound for a
    session's lot, a planned one and a delivery received into stock."""
    if expiry < EARLIEST_LOT_EXPIRY:
        return f"{expiry} is before {EARLIEST_LOT_EXPIRY}: check the date printed on the vial"
    return None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Patient(_Input):
    birth_date: Day
    sex: Sex
    screened_on: Day | None = Field(
        None, description="date of the screening whose answers are given here; absent: unknown (warns)"
    )
    pregnant: Flag | None = None
    breastfeeding: Flag | None = None
    conditions: list[str] = []
    medications: list[str] = []
    allergies: list[str] = []
    infection_at_injection_site: Flag | None = None


class TriggerPoint(_Input):
    muscle: str
    side: str
    found_on: Day | None = Field(None, description="date of the examination that found it")


class Episode(_Input):
    pain_onset_date: Day
    conservative_care_weeks: NonNegative
    trigger_points: list[TriggerPoint] = []


class PastSession(_Input):
    date: Day
    product: str
    total_units: NonNegative
    responded: bool | None = Field(
        None, description="did this cycle meet the clinic's response criterion? null: not judged"
    )


class Site(_Input):
    muscle: str
    side: str
    units: Units


# The lot of a plan suggested before a vial was picked (``injections.suggest``): its expiry may be
# known (typed) while the lot is not; a message names no such lot.
LOT_NOT_CHOSEN = "not chosen yet"


class ProposedSession(_Input):
    product: str
    vial_units: Units
    vial_count: int = Field(1, ge=1, le=MAX_VIALS, strict=True)
    diluent_ml: NonNegative
    lot: str = Field(min_length=1)
    lot_expiry: Day
    reconstituted_at: Clock | None = None
    administered_at: Clock | None = None
    physical_therapy: Flag
    injector_role: str | None = Field(
        None,
        description="role of the person who will inject (physician, physical_therapist, staff, ...), "
        "in any case ('Physician'); absent: not known to the caller, no finding; empty: invalid",
    )
    sites: list[Site] = Field(min_length=1)


class PatientContext(_Input):
    """What the rules that stand before any plan read: the day, the patient's screening answers
    and the earlier sessions (``clinical.standing``); a check request without its episode and plan."""

    date: Day
    patient: Patient
    history: list[PastSession] = []


class CheckRequest(_Input):
    """The whole document given to `bontrack check` (see examples/ and the README)."""

    date: Day
    patient: Patient
    episode: Episode
    history: list[PastSession] = []
    plan: ProposedSession
    note: str = Field("", description="free text for people; no rule reads it")


# What the patient-level rules (screening, interval, stop-and-review) read: a whole check request
# or the patient's context alone; both have the same ``date``, ``patient`` and ``history``.
Context = CheckRequest | PatientContext


def _check_ids(req: CheckRequest, kb: KnowledgeBase) -> list[FieldError]:
    errors: list[FieldError] = []

    def muscle_and_side(path: str, muscle: str, side: str) -> None:
        errors.extend(muscle_side_errors(kb, path, muscle, side))

    for i, tp in enumerate(req.episode.trigger_points):
        muscle_and_side(f"episode.trigger_points[{i}]", tp.muscle, tp.side)
    for i, site in enumerate(req.plan.sites):
        muscle_and_side(f"plan.sites[{i}]", site.muscle, site.side)
        if (wrong := site_units_problem(site.units, kb)) is not None:
            errors.append(FieldError(f"plan.sites[{i}].units", f"{wrong} (got {site.units:.6g})"))
    errors.extend(_history_and_entry_errors(req, kb))
    if req.plan.injector_role is not None and not req.plan.injector_role:
        errors.append(
            FieldError(
                "plan.injector_role",
                "is empty: give the injector's role (physician, physical_therapist, staff, ...), "
                "or leave the field out when it is not known",
            )
        )
    errors.extend(_check_dates(req))
    errors.extend(_check_product(req, kb))
    return errors


def site_units_problem(units: float, kb: KnowledgeBase) -> str | None:
    """What is wrong with the units of one site beyond the input bound (None: nothing)."""
    bound = kb.largest_session_units
    if units <= bound:
        return None
    largest = "the largest single-session dose of any product in the knowledge base"
    return f"must be at most {number(bound)} ({largest})"


def _history_and_entry_errors(req: Context, kb: KnowledgeBase) -> list[FieldError]:
    """Earlier sessions of unknown products or after the plan date; empty screening entries."""
    errors: list[FieldError] = []
    for i, past in enumerate(req.history):
        if kb.product_id(past.product) is None:
            errors.append(
                FieldError(
                    f"history[{i}].product",
                    f"unknown product {past.product!r}; allowed: {kb.product_choices()}",
                )
            )
        if past.date > req.date:
            errors.append(FieldError(f"history[{i}].date", f"{past.date} is after the plan date {req.date}"))
    for what in ("conditions", "medications", "allergies"):
        errors.extend(
            FieldError(f"patient.{what}[{i}]", "is empty: write the name, or remove the entry")
            for i, entry in enumerate(getattr(req.patient, what))
            if not entry.strip()
        )
    return errors


def _birth_errors(req: Context) -> list[FieldError]:
    """A birth date after the plan date, or implausibly long before it."""
    born = req.patient.birth_date
    if born > req.date:
        return [FieldError("patient.birth_date", f"{born} is after the plan date {req.date}")]
    if (born.year, born.month, born.day) < (req.date.year - OLDEST_AGE_YEARS, req.date.month, req.date.day):
        return [
            FieldError(
                "patient.birth_date",
                f"{born} is more than {OLDEST_AGE_YEARS} years before the plan date {req.date}",
            )
        ]
    return []


def _screened_errors(req: Context) -> list[FieldError]:
    screened = req.patient.screened_on
    if screened is not None and screened > req.date:
        return [FieldError("patient.screened_on", f"{screened} is after the plan date {req.date}")]
    return []


def _check_dates(req: CheckRequest) -> list[FieldError]:
    """Dates that cannot be true: after the plan date, before birth, or implausibly old."""
    errors = _birth_errors(req)
    born_ok = not errors
    born, onset = req.patient.birth_date, req.episode.pain_onset_date
    if onset > req.date:
        errors.append(FieldError("episode.pain_onset_date", f"{onset} is after the plan date {req.date}"))
    elif born_ok and (before := before_birth(onset, born)) is not None:
        errors.append(FieldError("episode.pain_onset_date", before))
    errors.extend(_screened_errors(req))
    for i, tp in enumerate(req.episode.trigger_points):
        if tp.found_on is not None and tp.found_on > req.date:
            errors.append(
                FieldError(
                    f"episode.trigger_points[{i}].found_on",
                    f"{tp.found_on} is after the plan date {req.date}",
                )
            )
    if (wrong := lot_expiry_problem(req.plan.lot_expiry)) is not None:
        errors.append(FieldError("plan.lot_expiry", wrong))
    return errors


def _check_product(req: CheckRequest, kb: KnowledgeBase) -> list[FieldError]:
    plan = req.plan
    pid = kb.product_id(plan.product)
    if pid is None:
        return [
            FieldError("plan.product", f"unknown product {plan.product!r}; allowed: {kb.product_choices()}")
        ]
    product = kb.product(pid)
    errors: list[FieldError] = []
    if product.vial(plan.vial_units) is None:
        sizes = ", ".join(f"{v.units:g}" for v in product.vials)
        errors.append(
            FieldError("plan.vial_units", f"{pid} comes in vials of {sizes} units, not {plan.vial_units:g}")
        )
    needs_time = product.form == "powder" or plan.diluent_ml > 0
    if product.form == "powder" and plan.diluent_ml <= 0:
        errors.append(FieldError("plan.diluent_ml", f"{pid} is a powder: give the mL of saline used (> 0)"))
    if needs_time and plan.reconstituted_at is None:
        what = "reconstituted" if product.form == "powder" else "diluted"
        errors.append(FieldError("plan.reconstituted_at", f"is required: when the {pid} vial was {what}"))
    if plan.reconstituted_at is not None and plan.reconstituted_at.date() > req.date:
        errors.append(
            FieldError(
                "plan.reconstituted_at",
                f"{plan.reconstituted_at} is after the plan date {req.date}",
            )
        )
    if plan.administered_at is not None:
        if plan.administered_at.date() != req.date:
            errors.append(FieldError("plan.administered_at", f"must fall on the plan date {req.date}"))
        elif plan.reconstituted_at is not None and plan.administered_at < plan.reconstituted_at:
            errors.append(
                FieldError(
                    "plan.administered_at",
                    f"{plan.administered_at:%Y-%m-%d %H:%M} is before the reconstitution time "
                    f"{plan.reconstituted_at:%Y-%m-%d %H:%M}",
                )
            )
    return errors


def _naive(value: datetime | None) -> datetime | None:
    """Clock times are local clinic times; an offset, if given, is dropped after validation."""
    return value.replace(tzinfo=None) if value is not None and value.tzinfo is not None else value


def parse_check_request(data: Any, kb: KnowledgeBase) -> CheckRequest:
    """Validate a check document; raise PlanInputError naming every bad field."""
    if not isinstance(data, Mapping):
        raise PlanInputError(
            [FieldError("(document)", "must be a JSON object with date, patient, episode, plan")]
        )
    try:
        req = CheckRequest.model_validate(data)
    except ValidationError as exc:
        raise PlanInputError(field_errors(exc)) from None
    req = req.model_copy(
        update={
            "plan": req.plan.model_copy(
                update={
                    "reconstituted_at": _naive(req.plan.reconstituted_at),
                    "administered_at": _naive(req.plan.administered_at),
                }
            )
        }
    )
    errors = _check_ids(req, kb)
    if errors:
        raise PlanInputError(errors)
    return req


def parse_patient_context(data: Any, kb: KnowledgeBase) -> PatientContext:
    """Validate a patient context (a check document without episode and plan) as
    ``parse_check_request`` validates those parts; raise PlanInputError naming every bad field."""
    if not isinstance(data, Mapping):
        raise PlanInputError([FieldError("(document)", "must be a JSON object with date, patient")])
    try:
        ctx = PatientContext.model_validate(data)
    except ValidationError as exc:
        raise PlanInputError(field_errors(exc)) from None
    errors = [*_history_and_entry_errors(ctx, kb), *_birth_errors(ctx), *_screened_errors(ctx)]
    if errors:
        raise PlanInputError(errors)
    return ctx
