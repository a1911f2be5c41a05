"""The input of the dose planner: a plan-dose document validated into the parts the planner uses.

The document is a `bontrack check` document with ``targets`` in place of ``plan.sites``; the rest
is validated by the check's own parser, errors naming each field (bontrack.errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bontrack.clinical.plan import CheckRequest, Clock, Day, Units, parse_check_request
from bontrack.errors import FieldError, PlanInputError, field_errors
from bontrack.knowledge.sites import muscle_side_errors
from bontrack.planning.knowledge import Intensity, PlanningKnowledge

# When no preparation time is given, the vial is taken as prepared just before injection at this hour.
_ASSUMED_HOUR = time(9, 0)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Target(_Input):
    muscle: str
    side: str
    intensity: Intensity = "usual"


class PlanningSession(_Input):
    """The check input's `plan` without sites, vial count and diluent (the planner chooses them)."""

    product: str
    vial_units: Units | None = Field(None, description="only this vial size; absent: any size")
    lot: str = Field(min_length=1)
    lot_expiry: Day
    reconstituted_at: Clock | None = None
    administered_at: Clock | None = None
    physical_therapy: bool = Field(strict=True)
    injector_role: str | None = Field(None, min_length=1)


class PlanDoseParts(_Input):
    """What a plan-dose request adds to, or changes in, a check document; the rest (date, patient,
    episode, history, note) is validated by the check's own parser."""

    plan: PlanningSession
    targets: list[Target] = Field(min_length=1)


@dataclass(frozen=True)
class Parsed:
    request: PlanDoseParts
    template: CheckRequest
    product_id: str
    assumed_times: bool


def _doc_errors(data: Any) -> None:
    if not isinstance(data, Mapping):
        raise PlanInputError(
            [FieldError("(document)", "must be a JSON object with date, patient, episode, plan, targets")]
        )


def _day(value: Any) -> date:
    """The request's date if it is one; else any date (the check's parser then names the field)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else date(2000, 1, 1)
    except ValueError:
        return date(2000, 1, 1)


def parse_plan_dose_request(data: Any, pk: PlanningKnowledge) -> Parsed:
    """Validate a plan-dose document; raise PlanInputError naming every bad field."""
    kb = pk.kb
    _doc_errors(data)
    try:
        req = PlanDoseParts.model_validate({k: data[k] for k in ("plan", "targets") if k in data})
    except ValidationError as exc:
        raise PlanInputError(field_errors(exc)) from None
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(req.targets):
        errors += muscle_side_errors(kb, f"targets[{i}]", t.muscle, t.side)
        if (t.muscle, t.side) in seen:
            errors.append(FieldError(f"targets[{i}]", f"{t.muscle} {t.side} is listed twice"))
        seen.add((t.muscle, t.side))
    pid = kb.product_id(req.plan.product)
    if pid is None:
        errors.append(
            FieldError(
                "plan.product", f"unknown product {req.plan.product!r}; allowed: {kb.product_choices()}"
            )
        )
    if errors:
        raise PlanInputError(errors)
    assert pid is not None
    product = kb.product(pid)
    vial = product.vials[0] if req.plan.vial_units is None else product.vial(req.plan.vial_units)
    if vial is None:
        sizes = ", ".join(f"{v.units:g}" for v in product.vials)
        raise PlanInputError(
            [
                FieldError(
                    "plan.vial_units", f"{pid} comes in vials of {sizes} units, not {req.plan.vial_units:g}"
                )
            ]
        )
    assumed = req.plan.reconstituted_at is None and req.plan.administered_at is None
    plan = dict(data["plan"])
    if assumed:
        when = datetime.combine(_day(data.get("date")), _ASSUMED_HOUR).isoformat()
        plan.update(reconstituted_at=when, administered_at=when)
    elif req.plan.reconstituted_at is None:
        plan["reconstituted_at"] = plan["administered_at"]
    plan.update(
        vial_units=vial.units,
        vial_count=1,
        diluent_ml=max(vial.diluent_ml_min, 0.0),
        sites=[{"muscle": req.targets[0].muscle, "side": req.targets[0].side, "units": 1}],
    )
    doc = {k: v for k, v in data.items() if k != "targets"}
    doc["plan"] = plan
    template = parse_check_request(doc, kb)  # the check's own validation: dates, ids, history
    return Parsed(req, template, pid, assumed)
