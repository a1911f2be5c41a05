"""The session form's "Suggest a plan": the dose planner (bontrack.planning) run on the patient's
stored context, as the engine would judge the saved session (injections.service.judge).

The planner's input is the `bontrack check` document the registry builds for a session (the
latest screening, the latest examination's trigger points, the history, the therapy plan, the
injector's role) with the chosen trigger points as ``targets`` instead of sites.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from bontrack.clinical.plan import LOT_NOT_CHOSEN
from bontrack.dates import before_birth
from bontrack.errors import FieldError, InputError, PlanInputError
from bontrack.injections.authority import check_role
from bontrack.injections.schemas import SessionCreate
from bontrack.injections.service import _check_document
from bontrack.knowledge import load_knowledge
from bontrack.patients.service import episode_of, get_clinician, get_patient
from bontrack.planning.dose import DosePlan, PlanningError, parse_plan_dose_request, plan_dose
from bontrack.planning.knowledge import Intensity, load_planning
from bontrack.schemas import CalendarDate, EventDate, FreeText, Id, Input, LocalTime, NoControls


class SuggestTarget(Input):
    muscle: FreeText
    side: FreeText
    intensity: Intensity = "usual"


class PlanSuggestionRequest(Input):
    """What the session form knows when "Suggest a plan" is pressed (no sites yet)."""

    patient_id: Id
    episode_id: Id
    date: EventDate
    injector_id: Id
    product: Annotated[str, Field(min_length=1, description="product id or brand name"), NoControls]
    vial_units: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)] | None = Field(
        None, description="only this vial size (left out: the planner chooses)"
    )
    lot: Annotated[str, Field(max_length=64), NoControls] = ""
    lot_expiry: CalendarDate | None = None
    reconstituted_at: LocalTime | None = None
    administered_at: LocalTime | None = None
    targets: list[SuggestTarget] = Field(
        default_factory=list,
        description="trigger points to treat (left out: every trigger point of the latest examination)",
    )


_SESSION_ONLY = ("sites", "vial_count", "diluent_ml", "vial_id", "diluent", "guidance", "override")


def _form_field(field: str) -> str:
    """A planner error's field as the form names it: plan.vial_units as vial_units."""
    return field.removeprefix("plan.")


def _check_stock_lot(*, db: Session, actor: str, clinic_id: str, data: PlanSuggestionRequest) -> None:
    """A lot kept in the clinic's stock must be of the planned product and received by the plan's
    date: refused with the words the session's save uses (stock.service.lot_mismatch)."""
    from bontrack.stock.service import lot_mismatch, stock_line_for  # stock imports injections

    pid = load_knowledge().product_id(data.product)
    if not data.lot or pid is None:  # no lot yet; an unknown product: the planner names it
        return
    line = stock_line_for(db=db, actor=actor, clinic_id=clinic_id, lot=data.lot, on=data.date)
    if line is not None and (wrong := lot_mismatch(line, pid, data.date)) is not None:
        raise InputError.one("lot", wrong)


def suggest_plan(*, db: Session, actor: str, data: PlanSuggestionRequest) -> DosePlan:
    """The planner's proposal for this patient, product and trigger points (nothing is saved;
    the patient, episode and injector reads are audited as the engine's check is)."""
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    if (before := before_birth(data.date, patient.data.birth_date)) is not None:
        raise InputError.one("date", before)
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    injector = get_clinician(
        db=db, actor=actor, clinician_id=data.injector_id, clinic_id=patient.clinic_id, field="injector_id"
    )
    _check_stock_lot(db=db, actor=actor, clinic_id=patient.clinic_id, data=data)
    # the session the registry would judge, with a placeholder site the planner replaces
    placeholder = SessionCreate.model_construct(
        patient_id=data.patient_id,
        episode_id=data.episode_id,
        date=data.date,
        injector_id=data.injector_id,
        product=data.product,
        vial_units=data.vial_units or 1.0,
        vial_count=1,
        lot=data.lot or LOT_NOT_CHOSEN,
        lot_expiry=data.lot_expiry or data.date,
        vial_id="",
        diluent="",
        diluent_ml=0.0,
        reconstituted_at=data.reconstituted_at,
        administered_at=data.administered_at,
        guidance="emg",
        sites=[],
        override=None,
    )
    doc = _check_document(
        db=db,
        actor=actor,
        data=placeholder,
        patient=patient,
        episode=episode,
        exclude=None,
        injector_role=check_role(injector.data.role),
    )
    plan: dict[str, Any] = {k: v for k, v in doc["plan"].items() if k not in _SESSION_ONLY and v is not None}
    if data.vial_units is None:
        plan.pop("vial_units", None)
    doc["plan"] = plan
    targets = [t.model_dump() for t in data.targets] or [
        {"muscle": tp["muscle"], "side": tp["side"], "intensity": "usual"}
        for tp in doc["episode"]["trigger_points"]
    ]
    if not targets:
        raise InputError.one(
            "targets",
            "choose the trigger points to treat on the body map (the latest examination found none)",
        )
    doc["targets"] = targets
    pk = load_planning()
    try:
        return plan_dose(parse_plan_dose_request(doc, pk), pk)
    except PlanInputError as exc:
        raise InputError([FieldError(_form_field(e.field), e.message) for e in exc.errors]) from None
    except PlanningError as exc:
        raise InputError.one("targets", f"No plan fits: {exc.reason}") from None
