"""Dilution arithmetic and dose limits per site, per muscle and per session.

Units are those of the planned product only; no rule here converts between products.
Limits and their sources come from products.toml.
"""

from __future__ import annotations

from collections import defaultdict

from bontrack.clinical.findings import Dilution, Finding, SiteDilution, finding, number, site_name
from bontrack.clinical.plan import ProposedSession
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.models import MuscleCap, Product, Vial

# Dose sums are compared after rounding, so 33.3 + 33.3 + 33.4 is 100, not 100.00000000000001.
_DECIMALS = 6


def over(total: float, limit: float) -> bool:
    """Is a dose total above its limit (reaching the limit is allowed)?"""
    return round(total, _DECIMALS) > limit


def fmt(units: float) -> str:
    """Units or mL in a message: "10,000", "33.333", "0.5" (see findings.number)."""
    return number(units)


def span(low: float, high: float) -> str:
    """'dose 500 U' when the two ends are equal, 'range 198-300 U' when they differ."""
    if round(low, 3) == round(high, 3):
        return f"dose {fmt(low)} U"
    return f"range {fmt(low)}-{fmt(high)} U"


def _volumes(low: float, high: float) -> str:
    if round(low, 3) == round(high, 3):
        return f"volume {fmt(low)} mL"
    return f"range {fmt(low)}-{fmt(high)} mL"


def _vials(count: int, units: float) -> str:
    """'the one 100 U vial prepared holds' / 'the 2 vials of 100 U prepared hold'."""
    if count == 1:
        return f"the one {fmt(units)} U vial prepared holds"
    return f"the {count} vials of {fmt(units)} U prepared hold"


def dilution(plan: ProposedSession, product_id: str, vial: Vial) -> Dilution:
    """Concentration of the prepared vial and the volume to draw for each site."""
    volume_ml = vial.solution_ml + plan.diluent_ml
    units_per_ml = plan.vial_units / volume_ml
    sites = [
        SiteDilution(muscle=s.muscle, side=s.side, units=s.units, volume_ml=round(s.units / units_per_ml, 4))
        for s in plan.sites
    ]
    total = sum(s.units for s in plan.sites)
    return Dilution(
        product=product_id,
        units_per_ml=round(units_per_ml, 4),
        units_per_0_1_ml=round(units_per_ml / 10, 4),
        available_units=plan.vial_units * plan.vial_count,
        total_units=round(total, _DECIMALS),
        total_volume_ml=round(total / units_per_ml, 4),
        sites=sites,
    )


def preparation_findings(
    plan: ProposedSession, dil: Dilution, product: Product, vial: Vial, kb: KnowledgeBase
) -> list[Finding]:
    """Dilution shown as info; a diluent volume outside the label's range warns; too few units block."""
    diluted = f"{fmt(plan.vial_units)} U in {fmt(vial.solution_ml + plan.diluent_ml)} mL"
    out = [
        finding(
            kb,
            "dilution.arithmetic",
            "info",
            f"{diluted}: {fmt(dil.units_per_0_1_ml)} U per 0.1 mL. "
            + "; ".join(
                f"{site_name(s.muscle, s.side)} {fmt(s.units)} U = {fmt(s.volume_ml)} mL" for s in dil.sites
            )
            + f". Total {fmt(dil.total_units)} U = {fmt(dil.total_volume_ml)} mL.",
            vial,
        )
    ]
    if not vial.diluent_ml_min <= plan.diluent_ml <= vial.diluent_ml_max:
        out.append(
            finding(
                kb,
                "dilution.volume_out_of_range",
                "warn",
                f"{fmt(plan.diluent_ml)} mL of diluent for a {fmt(vial.units)} U vial is outside the "
                f"labelled {_volumes(vial.diluent_ml_min, vial.diluent_ml_max)}.",
                vial,
                "Check the reconstitution volume; concentrations outside the label's table are not studied.",
            )
        )
    if over(dil.total_units, dil.available_units):
        out.append(
            finding(
                kb,
                "dose.exceeds_vials",
                "block",
                f"The plan uses {fmt(dil.total_units)} U but {_vials(plan.vial_count, plan.vial_units)} "
                f"{fmt(dil.available_units)} U.",
                vial,
                "Correct the units, or record how many vials were prepared.",
            )
        )
    return out


def dose_findings(
    plan: ProposedSession, product_id: str, product: Product, kb: KnowledgeBase, *, toxin_naive: bool
) -> list[Finding]:
    """Per-site, per-muscle and per-session limits of the planned product.

    ``toxin_naive``: no botulinum toxin of any product in the history (the label's initial dose applies).
    """
    out: list[Finding] = []
    site_cap = product.max_units_per_site
    if site_cap is not None:
        above = [
            f"site {i + 1} ({site_name(site.muscle, site.side)}) {fmt(site.units)} U"
            for i, site in enumerate(plan.sites)
            if over(site.units, site_cap.value)
        ]
        if above:
            out.append(
                finding(
                    kb,
                    "dose.site_max",
                    site_cap.severity,
                    f"Above {fmt(site_cap.value)} U per site for {product_id}: {', '.join(above)}.",
                    site_cap,
                    "Split the dose over more sites.",
                )
            )
    per_side: dict[tuple[str, str], float] = defaultdict(float)
    for site in plan.sites:
        per_side[(site.muscle, site.side)] += site.units
    capped: list[tuple[MuscleCap, str]] = []
    for cap in product.muscle_caps:
        if cap.scope == "both_sides":
            totals = {"both sides": sum(u for (m, _), u in per_side.items() if m == cap.muscle)}
        else:
            totals = {side: u for (m, side), u in per_side.items() if m == cap.muscle}
        capped.extend(
            (cap, f"{site_name(cap.muscle)} ({where}) {fmt(units)} U, cap {fmt(cap.value)} U")
            for where, units in sorted(totals.items())
            if over(units, cap.value)
        )
    if capped:
        worst = max(capped, key=lambda c: c[0].severity == "block")[0]
        out.append(
            finding(
                kb,
                "dose.muscle_cap",
                worst.severity,
                f"Above the muscle's cap for {product_id}: {'; '.join(text for _, text in capped)}.",
                worst,
                "Lower the dose in these muscles.",
            )
        )
    total = sum(s.units for s in plan.sites)
    limit = product.max_session_units
    if over(total, limit.value):
        out.append(
            finding(
                kb,
                "dose.session_max",
                limit.severity,
                f"Session total {fmt(total)} U is above the {fmt(limit.value)} U maximum for {product_id}.",
                limit,
                "Lower the total dose.",
            )
        )
    # Above the session maximum the block says the total is too high; the usual range is not
    # said again, but a first treatment above the label's initial dose still is (another reason:
    # lowered to the maximum, the total would still be above it). A first treatment above the
    # initial dose is said once, naming the usual range too when the total is also above it:
    # for DYSPORT both are 500 U, and two findings would say the same thing twice.
    typical = product.typical_cervical_session_units
    above_max = over(total, limit.value)
    above_usual = over(total, typical.high) and not above_max
    first = product.initial_session_units
    above_first = first is not None and toxin_naive and first.exceeded(total, _DECIMALS)
    merged = first is not None and above_first and above_usual and first.severity != "info"
    if first is not None and above_first:
        also = ""
        if merged and round(typical.high, 3) != round(first.value, 3):
            also = f", and above the usual cervical {span(typical.low, typical.high)}"
        if first.lower_than:
            message = (
                f"First toxin treatment: {fmt(total)} U of {product_id}{also}. A patient without a "
                "history of tolerating botulinum toxin should receive a lower initial dose than "
                f"{fmt(first.value)} U."
            )
        else:
            message = (
                f"First toxin treatment: {fmt(total)} U is above the label's initial dose of "
                f"{fmt(first.value)} U for {product_id}{also}."
            )
        out.append(
            finding(
                kb,
                "dose.above_initial",
                first.severity,
                message,
                first,
                "Start lower in a patient without toxin history; titrate at the next cycle.",
            )
        )
    if above_usual and not merged:
        out.append(
            finding(
                kb,
                "dose.above_usual",
                "warn",
                f"Session total {fmt(total)} U is above the usual cervical {span(typical.low, typical.high)} "
                f"for {product_id}.",
                typical,
                "Higher doses bring more dysphagia and neck weakness; document why.",
            )
        )
    scm = kb.files.pathway.bilateral_scm.muscle
    sides_scm = {side for (m, side) in per_side if m == scm}
    if len(sides_scm) == 2:
        out.append(
            finding(
                kb,
                "dose.bilateral_scm",
                "warn",
                "Both sternocleidomastoids are injected: higher risk of dysphagia.",
                kb.files.pathway.bilateral_scm,
                "Reduce the dose or inject one side; warn the patient about swallowing.",
            )
        )
    return out
