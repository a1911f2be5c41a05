"""Billing lines for what was administered: the drug's HCPCS code with JW/JZ, procedures, NDC.

Input: a `bontrack check` document (its sites are what was given, its vials - vial_units x
vial_count - what was opened), with two optional fields read only here: `guidance` (emg,
electrical_stimulation, ultrasound) and `diagnosis_codes` (ICD-10-CM). Units of one product are
billed only under that product's own code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bontrack.clinical.plan import parse_check_request
from bontrack.errors import FieldError, PlanInputError, field_errors
from bontrack.planning.knowledge import PlanningKnowledge

Guidance = Literal["emg", "electrical_stimulation", "ultrasound"]
_GUIDANCE_CODE = {
    "ultrasound": "guidance_ultrasound",
    "electrical_stimulation": "guidance_electrical_stimulation",
    "emg": "guidance_emg",
}
# ICD-10-CM: a letter, two characters, then optionally a dot and 1-4 characters ("M79.18", "M54.2").
ICD10CM = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
_EPS = 1e-6


class Line(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    modifiers: list[str]
    units: int
    description: str
    source: str


class BillingLines(BaseModel):
    lines: list[Line]
    administered_units: float
    discarded_units: float
    opened_units: float
    ndc: str | None
    diagnosis_codes: list[str]
    warnings: list[str]


class _Extras(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    guidance: list[Guidance] = []
    diagnosis_codes: list[str] = Field(default_factory=list)


_EXTRAS = ("guidance", "diagnosis_codes")
_extras_adapter = TypeAdapter(_Extras)


def fmt(units: float) -> str:
    return f"{round(units, 3):g}"


def _parse_extras(data: Mapping[str, Any]) -> _Extras:
    raw = {k: data[k] for k in _EXTRAS if k in data}
    if isinstance(raw.get("guidance"), str):
        raw["guidance"] = [raw["guidance"]]
    try:
        extras = _extras_adapter.validate_python(raw)
    except ValidationError as exc:
        raise PlanInputError(field_errors(exc)) from None
    bad = [
        FieldError(f"diagnosis_codes[{i}]", f"{c!r} is not an ICD-10-CM code (e.g. M79.18, M54.2)")
        for i, c in enumerate(extras.diagnosis_codes)
        if not ICD10CM.match(c.upper())
    ]
    if bad:
        raise PlanInputError(bad)
    return extras.model_copy(update={"diagnosis_codes": [c.upper() for c in extras.diagnosis_codes]})


def code_session(data: Any, pk: PlanningKnowledge) -> BillingLines:
    """Billing lines for a check document; raises PlanInputError naming the field if invalid."""
    kb = pk.kb
    if not isinstance(data, Mapping):
        raise PlanInputError(
            [FieldError("(document)", "must be a JSON object (a `bontrack check` document)")]
        )
    extras = _parse_extras(data)
    req = parse_check_request({k: v for k, v in data.items() if k not in _EXTRAS}, kb)
    pid = kb.product_id(req.plan.product)
    assert pid is not None  # validated
    drug = pk.billing.drugs[pid]
    plan = req.plan
    administered = round(sum(s.units for s in plan.sites), 6)
    opened = plan.vial_units * plan.vial_count
    if administered > opened + _EPS:
        raise PlanInputError(
            [
                FieldError(
                    "plan.sites",
                    f"{fmt(administered)} U were given but {plan.vial_count} x {fmt(plan.vial_units)} U "
                    "vial(s) "
                    f"hold {fmt(opened)} U: record every vial opened (plan.vial_count)",
                )
            ]
        )
    per = drug.units_per_billing_unit
    given_bu = math.ceil(administered / per - _EPS)
    opened_bu = math.floor(opened / per + _EPS)
    discarded_bu = max(0, opened_bu - given_bu)
    warnings: list[str] = []
    drug_source = pk.cite(drug)
    what = f"{drug.description}: {fmt(administered)} U given"
    if discarded_bu:
        lines = [
            Line(code=drug.code, modifiers=[], units=given_bu, description=what, source=drug_source),
            Line(
                code=drug.code,
                modifiers=["JW"],
                units=discarded_bu,
                description=f"{drug.description}: {fmt(opened - administered)} U discarded from "
                f"{plan.vial_count} x {fmt(plan.vial_units)} U single-dose vial(s)",
                source=pk.cite(pk.billing.jw),
            ),
        ]
    else:
        lines = [
            Line(
                code=drug.code,
                modifiers=["JZ"],
                units=given_bu,
                description=f"{what}, nothing discarded",
                source=f"{drug_source}; {pk.cite(pk.billing.jz)}",
            )
        ]
    if given_bu * per - administered > _EPS:
        warnings.append(
            f"{fmt(administered)} U is not a whole number of billing units of {fmt(per)} U: billed as "
            f"{given_bu} (rounded up), and only whole billing units left in the vials are billed as "
            f"discarded. {pk.cite(pk.billing.rounding)}"
        )
        if not discarded_bu and opened - administered > _EPS:
            warnings.append(
                f"The {fmt(opened - administered)} U left in the vial(s) is less than one billing unit once "
                "the given amount is rounded up: no JW line is written."
            )
    muscles = {(s.muscle, s.side) for s in plan.sites}
    proc = pk.billing.procedures["trigger_point_1_2" if len(muscles) <= 2 else "trigger_point_3_plus"]
    names = ", ".join(f"{m.replace('_', ' ')} {side}" for m, side in sorted(muscles))
    lines.append(
        Line(
            code=proc.code,
            modifiers=[],
            units=1,
            description=f"{proc.description}: {len(muscles)} muscle(s) ({names})",
            source=pk.cite(proc),
        )
    )
    for g in dict.fromkeys(extras.guidance):
        gp = pk.billing.procedures[_GUIDANCE_CODE[g]]
        lines.append(
            Line(code=gp.code, modifiers=[], units=1, description=gp.description, source=pk.cite(gp))
        )
        if gp.note:
            warnings.append(f"{gp.code}: {gp.note}")
    warnings.append(pk.billing.coverage_warning.note)
    ndc_fact = pk.billing.ndc.get(pid, {}).get(f"{int(plan.vial_units)}")
    if ndc_fact is None:
        warnings.append(
            f"The NDC of the {fmt(plan.vial_units)} U {pid} vial is not recorded in the knowledge base: "
            "copy it from the vial's carton."
        )
    if not extras.diagnosis_codes:
        warnings.append(
            "No diagnosis code given (diagnosis_codes): a claim needs the episode's ICD-10-CM codes."
        )
    return BillingLines(
        lines=lines,
        administered_units=administered,
        discarded_units=round(opened - administered, 6),
        opened_units=opened,
        ndc=ndc_fact.ndc if ndc_fact else None,
        diagnosis_codes=extras.diagnosis_codes,
        warnings=warnings,
    )
