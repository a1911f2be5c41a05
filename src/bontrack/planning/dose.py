"""The dose planner: trigger points to treat in, a plan within every limit out, judged by the engine.

Pure: the result depends only on the request and the knowledge. Units are the planned product's
own; no number here converts one product's units into another's.

1. Dose per muscle side: the product's per-muscle range (knowledge/planning.toml) at the asked
   intensity, one step lower for a patient with no toxin history.
2. Limits, all from products.toml (the engine's own): a muscle's cap, then the session total is
   kept within the smallest of the session maximum, the usual cervical range's upper end, the
   initial dose (first treatment), and the rolling-window and label-interval limits minus the same
   product's earlier doses. Doses are lowered in proportion and rounded down to the product's step.
3. Sites: a muscle side's dose is split over as few sites as keep each within the per-site limit.
4. Vials: one size, the number that holds the total; the size with the least discarded units,
   then the fewest vials (bontrack.planning.preparation).
5. Dilution: the least diluent in the vial's labelled range that gives every site a volume that is
   a whole number of syringe graduations (0.05 mL, else 0.01 mL) between 0.1 and 1 mL (ibid.).
6. The engine's decision on the resulting check document, and the planner's own findings: more
   injection sites than the study behind the per-muscle doses injected warns (planning.site_count).
"""

from __future__ import annotations

import math
from datetime import date

from pydantic import BaseModel, Field

from bontrack.clinical.decision import decide
from bontrack.clinical.findings import Decision, Finding, days_ago
from bontrack.clinical.plan import (
    CheckRequest,
    Site,
)
from bontrack.clinical.retreatment import months_before
from bontrack.knowledge.models import Product, Sourced
from bontrack.planning.dose_request import Parsed
from bontrack.planning.dose_request import parse_plan_dose_request as parse_plan_dose_request
from bontrack.planning.knowledge import INTENSITIES, Intensity, PlanningKnowledge, ProductPlanning
from bontrack.planning.preparation import choose_dilution, choose_vials
from bontrack.planning.vials import VialMix, choose_vial_mix

_EPS = 1e-6


class PlanningError(Exception):
    """No plan can be made within the limits; ``reason`` says why, ``source`` cites the limit."""

    def __init__(self, reason: str, source: str = "") -> None:
        self.reason = reason
        self.source = source
        super().__init__(reason)


class PlannedSite(BaseModel):
    muscle: str
    side: str
    units: float
    volume_ml: float


class MuscleDosePlan(BaseModel):
    muscle: str
    side: str
    intensity: Intensity
    range_units: dict[str, float]
    units: float
    sites: int
    source: str


class VialChoice(BaseModel):
    vial_units: float
    vial_count: int
    opened_units: float
    discarded_units: float
    mixed: VialMix | None = Field(
        None,
        description="the least-waste combination of sizes, when it discards fewer units or needs fewer "
        "vials than one size (the check input and the session record hold one size)",
    )


class DilutionChoice(BaseModel):
    diluent_ml: float
    units_per_ml: float
    units_per_0_1_ml: float
    graduation_ml: float | None
    why: str
    source: str


class Limit(BaseModel):
    name: str
    units: float
    source: str


class DosePlan(BaseModel):
    product: str
    knowledge_version: str
    first_treatment: bool
    muscles: list[MuscleDosePlan]
    sites: list[PlannedSite]
    total_units: float
    limits: list[Limit]
    vials: VialChoice
    dilution: DilutionChoice
    assumptions: list[str]
    findings: list[Finding] = Field(
        description="the planner's own findings about the plan, each with its source (the engine's "
        "findings are in decision, which is what `bontrack check` says of check_input)"
    )
    decision: Decision
    check_input: CheckRequest = Field(description="the proposed plan as a `bontrack check` document")


def fmt(units: float) -> str:
    return f"{round(units, 3):g}"


def _floor_step(units: float, step: float) -> float:
    return math.floor(units / step + _EPS) * step


def _ceil_div(a: float, b: float) -> int:
    return math.ceil(a / b - _EPS)


def _budget(
    parsed: Parsed, pk: PlanningKnowledge, product: Product, naive: bool
) -> list[tuple[str, float, Sourced]]:
    """Every upper bound on the session total: name, units, the fact it comes from."""
    kb = pk.kb
    req = parsed.template
    pid = parsed.product_id
    same = [p for p in req.history if kb.product_id(p.product) == pid]
    interval = product.min_retreatment_days
    if same:
        last = max(p.date for p in same)
        days = (req.date - last).days
        if days < interval.value:
            earliest = date.fromordinal(last.toordinal() + int(interval.value))
            raise PlanningError(
                f"The last {pid} session was {days_ago(days)} ({last}); the minimum interval is "
                f"{interval.value:g} days. No plan before {earliest}.",
                kb.cite(interval),
            )
    limits: list[tuple[str, float, Sourced]] = [
        ("session maximum", product.max_session_units.value, product.max_session_units),
        (
            "upper end of the usual cervical range",
            product.typical_cervical_session_units.high,
            product.typical_cervical_session_units,
        ),
    ]
    first = product.initial_session_units
    if naive and first is not None:
        # a label that asks for less than its value (MYOBLOC) is kept one dose step below it
        step = pk.planning.products[pid].dose_step_units if first.lower_than else 0.0
        limits.append(("initial dose (no toxin history)", first.value - step, first))
    window = kb.files.pathway.cumulative_window_days.value
    rolling = product.max_units_rolling_12_weeks
    prior = sum(p.total_units for p in same if (req.date - p.date).days < window)
    limits.append(
        (f"rolling {window:g}-day limit minus {fmt(prior)} U given", rolling.value - prior, rolling)
    )
    months = product.cumulative_label_months
    if months is not None:
        start = months_before(req.date, int(months.value))
        prior_m = sum(p.total_units for p in same if p.date > start)
        limits.append(
            (
                f"label's {months.value:g}-month limit minus {fmt(prior_m)} U given",
                rolling.value - prior_m,
                months,
            )
        )
    return limits


def _apply_caps(doses: dict[tuple[str, str], float], product: Product, step: float) -> None:
    for cap in product.muscle_caps:
        groups = (
            [[k for k in doses if k[0] == cap.muscle]]
            if cap.scope == "both_sides"
            else [[k] for k in doses if k[0] == cap.muscle]
        )
        for keys in groups:
            total = sum(doses[k] for k in keys)
            if keys and total > cap.value + _EPS:
                for k in keys:
                    doses[k] = max(step, _floor_step(doses[k] * cap.value / total, step))
                _trim(doses, keys, cap.value, step)


def _trim(
    doses: dict[tuple[str, str], float], keys: list[tuple[str, str]], limit: float, step: float
) -> None:
    """Take one step at a time from the largest dose until the keys' total is within the limit."""
    while sum(doses[k] for k in keys) > limit + _EPS:
        k = max((k for k in keys if doses[k] > step + _EPS), key=lambda k: doses[k], default=None)
        if k is None:
            return
        doses[k] -= step


def _split(units: float, cap: float | None, step: float) -> list[float]:
    n = 1 if cap is None else max(1, _ceil_div(units, cap))
    steps = round(units / step)
    base, extra = divmod(steps, n)
    return [(base + (1 if i < extra else 0)) * step for i in range(n)]


def site_count_findings(sites: int, pp: ProductPlanning, pk: PlanningKnowledge) -> list[Finding]:
    """More injection sites than the study behind the per-muscle doses injected in a session
    warns (planning.toml ``max_sites``: BOTOX, Ferrante 2005; DYSPORT, Gobel 2006)."""
    cited = pp.max_sites
    if cited is None or sites <= cited.value:
        return []
    return [
        Finding(
            code="planning.site_count",
            severity="warn",
            message=f"{sites} injection sites planned: the doses per muscle come from a study that injected "
            f"at most {cited.value} trigger points in a session, and were not studied at more sites.",
            source=pk.cite(cited),
            advice=f"Treat the {cited.value} most tender trigger points, or lower the doses and record why "
            "more sites are needed.",
        )
    ]


def plan_dose(parsed: Parsed, pk: PlanningKnowledge) -> DosePlan:
    kb = pk.kb
    req, template, pid = parsed.request, parsed.template, parsed.product_id
    product = kb.product(pid)
    pp = pk.planning.products[pid]
    step = pp.dose_step_units
    naive = not template.history
    down = pk.planning.first_treatment.steps_down if naive else 0
    doses: dict[tuple[str, str], float] = {}
    intensity: dict[tuple[str, str], Intensity] = {}
    for t in req.targets:
        level = INTENSITIES[max(0, INTENSITIES.index(t.intensity) - down)]
        intensity[(t.muscle, t.side)] = level
        doses[(t.muscle, t.side)] = max(step, _floor_step(pp.dose(t.muscle).at(level), step))
    _apply_caps(doses, product, step)
    limits = _budget(parsed, pk, product, naive)
    name, budget, fact = min(limits, key=lambda x: x[1])
    keys = list(doses)
    if len(keys) * step > budget + _EPS:
        raise PlanningError(
            f"The {name} leaves {fmt(max(budget, 0))} U of {pid}: not enough for {len(keys)} muscle side(s) "
            f"at {fmt(step)} U each. Treat fewer muscles or wait.",
            kb.cite(fact),
        )
    total = sum(doses.values())
    if total > budget + _EPS:
        for k in keys:
            doses[k] = max(step, _floor_step(doses[k] * budget / total, step))
        _trim(doses, keys, budget, step)
    site_cap = product.max_units_per_site.value if product.max_units_per_site else None
    site_units: list[tuple[str, str, float]] = []
    muscles: list[MuscleDosePlan] = []
    for (muscle, side), units in doses.items():
        parts = _split(units, site_cap, step)
        site_units.extend((muscle, side, u) for u in parts)
        rng = pp.dose(muscle)
        muscles.append(
            MuscleDosePlan(
                muscle=muscle,
                side=side,
                intensity=intensity[(muscle, side)],
                range_units={i: rng.at(i) for i in INTENSITIES},
                units=units,
                sites=len(parts),
                source=pk.cite(rng),
            )
        )
    total = sum(doses.values())
    allowed = (
        product.vials
        if req.plan.vial_units is None
        else [v for v in product.vials if v.units == req.plan.vial_units]
    )
    vial, count = choose_vials(total, allowed)
    diluent, grad = choose_dilution([u for _, _, u in site_units], vial, pk)
    conc = vial.units / (vial.solution_ml + diluent)
    sites = [PlannedSite(muscle=m, side=s, units=u, volume_ml=round(u / conc, 4)) for m, s, u in site_units]
    plan = template.plan.model_copy(
        update={
            "vial_units": float(vial.units),
            "vial_count": count,
            "diluent_ml": diluent,
            "sites": [Site(muscle=s.muscle, side=s.side, units=s.units) for s in sites],
        }
    )
    check_req = template.model_copy(update={"plan": plan})
    decision = decide(check_req, kb)
    assumptions = []
    if parsed.assumed_times:
        assumptions.append(
            "No preparation or administration time was given: the vial is taken as prepared just before "
            "injection, so the decision does not judge the reconstitution window. Give plan.reconstituted_at "
            "(and plan.administered_at) for an exact check."
        )
    single = (round(vial.units * count - total, 6), count)
    mixed = choose_vial_mix(total, [v.units for v in allowed])
    if mixed is not None and (len(mixed.vials) < 2 or (mixed.discarded_units, mixed.vial_count) >= single):
        mixed = None
    if mixed is not None:
        assumptions.append(
            "Mixed vial sizes would open "
            + " + ".join(f"{v.count} x {fmt(v.vial_units)} U" for v in mixed.vials)
            + f" and discard {fmt(mixed.discarded_units)} U (vials.mixed); the plan and its check input use "
            f"{count} x {fmt(vial.units)} U, because a session records one vial size."
        )
    if grad is None:
        assumptions.append(
            "No diluent volume gives whole syringe graduations for every site: measure each volume carefully."
        )
    grads = pk.planning.graduations
    why = (
        f"The least diluent in the labelled {fmt(vial.diluent_ml_min)}-{fmt(vial.diluent_ml_max)} mL range "
        f"for a {vial.units} U vial that gives every site a whole number of {grad:g} mL graduations"
        if grad is not None
        else "No volume fits whole graduations; the labelled minimum is used"
    ) + (
        f", each between {grads.min_site_ml:g} and {grads.max_site_ml:g} mL."
        if grad is not None
        and all(grads.min_site_ml - _EPS <= s.volume_ml <= grads.max_site_ml + _EPS for s in sites)
        else "."
    )
    return DosePlan(
        product=pid,
        knowledge_version=kb.version,
        first_treatment=naive,
        muscles=muscles,
        sites=sites,
        total_units=total,
        limits=[Limit(name=n, units=round(u, 6), source=pk.cite(f)) for n, u, f in limits],
        vials=VialChoice(
            vial_units=vial.units,
            vial_count=count,
            opened_units=vial.units * count,
            discarded_units=round(vial.units * count - total, 6),
            mixed=mixed,
        ),
        dilution=DilutionChoice(
            diluent_ml=diluent,
            units_per_ml=round(conc, 4),
            units_per_0_1_ml=round(conc / 10, 4),
            graduation_ml=grad,
            why=why,
            source=pk.cite(grads),
        ),
        assumptions=assumptions,
        findings=site_count_findings(len(sites), pp, pk),
        decision=decision,
        check_input=check_req,
    )
