"""`bontrack plan-dose`: plans within every limit, least-waste vials, graduation-friendly dilution.

The property tests draw trigger-point maps, products, per-muscle ranges (the packaged ones and
ones scaled up to strain every limit) and histories, then check the plan against each limit
computed here from products.toml, the engine's decision, and a brute force over vial choices.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bontrack.clinical.plan import PlanInputError
from bontrack.clinical.retreatment import months_before
from bontrack.knowledge import load_knowledge
from bontrack.planning.dose import DosePlan, PlanningError, parse_plan_dose_request, plan_dose
from bontrack.planning.knowledge import PlanningKnowledge, _read, build_planning
from tests.planning.conftest import request

ROOT = Path(__file__).resolve().parents[2]
KB = load_knowledge()
PRODUCTS = list(KB.files.products)
MUSCLES = list(KB.files.muscles)
PLAN_DATE = date(2026, 11, 23)
# Codes of the engine that judge the dose; the planner must never trip any of them.
DOSE_CODES = {
    "dose.site_max",
    "dose.muscle_cap",
    "dose.session_max",
    "dose.above_usual",
    "dose.above_initial",
    "dose.exceeds_vials",
    "dose.cumulative_window",
    "dose.cumulative_label_interval",
    "retreatment.too_soon",
}


@cache
def scaled(product: str, factor: float) -> PlanningKnowledge:
    """The packaged planning knowledge with one product's per-muscle range multiplied."""
    data = copy.deepcopy(_read())
    entry = data["planning"]["products"][product]
    step = entry["dose_step_units"]
    for key in ("low", "usual", "high"):
        entry["per_muscle"][key] = max(step, round(entry["per_muscle"][key] * factor / step) * step)
    return build_planning(data, KB)


def run(doc: dict[str, Any], pk: PlanningKnowledge) -> DosePlan:
    return plan_dose(parse_plan_dose_request(doc, pk), pk)


def limits_hold(plan: DosePlan, doc: dict[str, Any]) -> None:
    """Every limit of products.toml, computed here independently of the planner."""
    product = KB.product(plan.product)
    total = sum(s.units for s in plan.sites)
    assert total == pytest.approx(plan.total_units)
    if product.max_units_per_site is not None:
        assert all(s.units <= product.max_units_per_site.value for s in plan.sites)
    for cap in product.muscle_caps:
        for side in ["left", "right"] if cap.scope == "per_side" else [None]:
            dose = sum(s.units for s in plan.sites if s.muscle == cap.muscle and side in (None, s.side))
            assert dose <= cap.value
    assert total <= product.max_session_units.value
    assert total <= product.typical_cervical_session_units.high
    initial = product.initial_session_units
    if not doc["history"] and initial is not None:
        # the label's initial dose; below it when the label asks for a lower dose than it (MYOBLOC)
        assert total < initial.value if initial.lower_than else total <= initial.value
    same = [p for p in doc["history"] if KB.product_id(p["product"]) == plan.product]
    window = KB.files.pathway.cumulative_window_days.value
    recent = [p for p in same if (PLAN_DATE - date.fromisoformat(p["date"])).days < window]
    assert sum(p["total_units"] for p in recent) + total <= product.max_units_rolling_12_weeks.value
    if product.cumulative_label_months is not None:
        start = months_before(PLAN_DATE, int(product.cumulative_label_months.value))
        inside = [p for p in same if date.fromisoformat(p["date"]) > start]
        assert sum(p["total_units"] for p in inside) + total <= product.max_units_rolling_12_weeks.value
    # every target is treated, and only targets
    assert {(m.muscle, m.side) for m in plan.muscles} == {(t["muscle"], t["side"]) for t in doc["targets"]}
    assert all(s.units > 0 for s in plan.sites)


def waste_is_minimal(plan: DosePlan, doc: dict[str, Any]) -> None:
    """Brute force over every vial size and count that the check input can record."""
    total = plan.total_units
    sizes = [v.units for v in KB.product(plan.product).vials]
    if doc["plan"].get("vial_units"):
        sizes = [doc["plan"]["vial_units"]]
    options = [
        (size * count - total, count)
        for size in sizes
        for count in range(1, int(total // min(sizes)) + 3)
        if size * count >= total
    ]
    best = min(options)
    chosen = plan.vials
    assert chosen.opened_units >= total
    assert (chosen.discarded_units, chosen.vial_count) == pytest.approx(best)


def dilution_is_practical(plan: DosePlan) -> None:
    vial = KB.product(plan.product).vial(plan.vials.vial_units)
    assert vial is not None
    assert vial.diluent_ml_min <= plan.dilution.diluent_ml <= vial.diluent_ml_max
    grad = plan.dilution.graduation_ml
    assert grad is not None, "every plan in these tests finds whole graduations"
    for s in plan.sites:
        steps = s.volume_ml / grad
        assert abs(steps - round(steps)) < 1e-3 and round(steps) >= 1
    # the engine's arithmetic gives the same volumes
    engine = {(d.muscle, d.side, d.units): d.volume_ml for d in plan.decision.dilution.sites}
    for s in plan.sites:
        assert engine[(s.muscle, s.side, s.units)] == pytest.approx(s.volume_ml, abs=1e-4)


def justified_refusal(exc: PlanningError, doc: dict[str, Any], pk: PlanningKnowledge, pid: str) -> None:
    """A refusal is right only if the interval forbids the product, or the room left is below one
    dose step per target."""
    product = KB.product(pid)
    same = [date.fromisoformat(p["date"]) for p in doc["history"] if KB.product_id(p["product"]) == pid]
    if same and (PLAN_DATE - max(same)).days < product.min_retreatment_days.value:
        assert "minimum interval" in exc.reason
        return
    window = KB.files.pathway.cumulative_window_days.value
    room = [product.max_session_units.value, product.typical_cervical_session_units.high]
    initial = product.initial_session_units
    if not doc["history"] and initial is not None:
        step = pk.planning.products[pid].dose_step_units
        room.append(initial.value - (step if initial.lower_than else 0))
    recent = [
        p["total_units"]
        for p in doc["history"]
        if KB.product_id(p["product"]) == pid and (PLAN_DATE - date.fromisoformat(p["date"])).days < window
    ]
    room.append(product.max_units_rolling_12_weeks.value - sum(recent))
    if product.cumulative_label_months is not None:
        start = months_before(PLAN_DATE, int(product.cumulative_label_months.value))
        inside = [
            p["total_units"]
            for p in doc["history"]
            if KB.product_id(p["product"]) == pid and date.fromisoformat(p["date"]) > start
        ]
        room.append(product.max_units_rolling_12_weeks.value - sum(inside))
    step = pk.planning.products[pid].dose_step_units
    assert len(doc["targets"]) * step > min(room), exc.reason


targets_st = st.lists(
    st.tuples(
        st.sampled_from(MUSCLES),
        st.sampled_from(["left", "right"]),
        st.sampled_from(["low", "usual", "high"]),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda t: (t[0], t[1]),
)


@st.composite
def history_st(draw: st.DrawFn, pid: str) -> list[dict[str, Any]]:
    sessions = []
    for _ in range(draw(st.integers(0, 3))):
        other = draw(st.sampled_from([pid, pid, *PRODUCTS]))
        limit = KB.product(other).max_units_rolling_12_weeks.value
        sessions.append(
            {
                "date": (PLAN_DATE - timedelta(days=draw(st.integers(1, 200)))).isoformat(),
                "product": other,
                "total_units": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.95, 1.0])) * limit,
            }
        )
    return sessions


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_plans_never_break_a_limit(data: st.DataObject) -> None:
    pid = data.draw(st.sampled_from(PRODUCTS), label="product")
    factor = data.draw(st.sampled_from([1.0, 1.0, 0.3, 2.0, 5.0, 20.0]), label="range factor")
    pk = scaled(pid, factor)
    targets = [{"muscle": m, "side": s, "intensity": i} for m, s, i in data.draw(targets_st, label="targets")]
    history = data.draw(history_st(pid), label="history")
    vial_units = data.draw(st.sampled_from([None, *[v.units for v in KB.product(pid).vials]]), label="vial")
    doc = request(targets, history=history, plan={"product": pid})
    doc["episode"]["trigger_points"] = [
        {"muscle": t["muscle"], "side": t["side"], "found_on": "2026-11-02"} for t in targets
    ]
    if vial_units is not None:
        doc["plan"]["vial_units"] = vial_units
    try:
        plan = run(doc, pk)
    except PlanningError as exc:
        justified_refusal(exc, doc, pk, pid)
        return
    limits_hold(plan, doc)
    dose_findings = {f.code for f in plan.decision.findings} & DOSE_CODES
    assert not dose_findings, [f.message for f in plan.decision.findings if f.code in dose_findings]
    waste_is_minimal(plan, doc)
    dilution_is_practical(plan)


BOTOX_TARGETS = [
    {"muscle": "upper_trapezius", "side": "left", "intensity": "high"},
    {"muscle": "upper_trapezius", "side": "right"},
    {"muscle": "levator_scapulae", "side": "left", "intensity": "low"},
]
EARLIER = [{"date": "2026-06-01", "product": "onabotulinumtoxinA", "total_units": 100}]


def test_first_treatment_is_one_intensity_lower(pk: PlanningKnowledge) -> None:
    first = run(request(BOTOX_TARGETS, plan={"product": "botox"}), pk)
    later = run(request(BOTOX_TARGETS, history=EARLIER, plan={"product": "botox"}), pk)
    assert first.first_treatment and not later.first_treatment
    assert [m.units for m in later.muscles] == [50, 25, 10]  # Ferrante 2005: 10 / 25 / 50 U
    assert [m.units for m in first.muscles] == [25, 10, 10]
    assert [m.intensity for m in first.muscles] == ["usual", "low", "low"]


def test_initial_dose_limit_scales_a_first_treatment_down(pk: PlanningKnowledge) -> None:
    targets = [{"muscle": m, "side": s, "intensity": "high"} for m in MUSCLES[:8] for s in ("left", "right")]
    plan = run(request(targets, plan={"product": "xeomin"}), pk)
    assert plan.total_units <= KB.product("incobotulinumtoxinA").initial_session_units.value  # type: ignore[union-attr]
    assert "initial dose" in min(plan.limits, key=lambda lim: lim.units).name
    assert all(m.units >= 5 for m in plan.muscles)


def test_first_treatment__myobloc_stays_below_2500_units(pk: PlanningKnowledge) -> None:
    # MYOBLOC label section 2.2: a patient without toxin history gets a lower initial dose than
    # the tolerant range's 2,500 U; the planner keeps one dose step (250 U) below it
    targets = [{"muscle": m, "side": s, "intensity": "high"} for m in MUSCLES[:4] for s in ("left", "right")]
    plan = run(request(targets, plan={"product": "myobloc"}), pk)
    tightest = min(plan.limits, key=lambda lim: lim.units)
    assert "initial dose" in tightest.name and tightest.units == 2250
    assert plan.first_treatment and plan.total_units < 2500
    assert "dose.above_initial" not in {f.code for f in plan.decision.findings}


def test_a_dose_above_the_site_limit_is_split() -> None:
    pk = scaled("onabotulinumtoxinA", 3.0)  # high becomes 150 U per muscle side
    plan = run(
        request(
            [{"muscle": "upper_trapezius", "side": "left", "intensity": "high"}],
            history=EARLIER,
            plan={"product": "botox"},
        ),
        pk,
    )
    assert [s.units for s in plan.sites] == [50, 50, 50]
    assert plan.muscles[0].sites == 3
    assert "dose.site_max" not in {f.code for f in plan.decision.findings}


def test_the_sternocleidomastoid_cap_holds_for_both_sides() -> None:
    pk = scaled("onabotulinumtoxinA", 3.0)
    targets = [{"muscle": "sternocleidomastoid", "side": s, "intensity": "high"} for s in ("left", "right")]
    plan = run(request(targets, history=EARLIER, plan={"product": "botox"}), pk)
    assert sum(m.units for m in plan.muscles) == 100
    assert "dose.muscle_cap" not in {f.code for f in plan.decision.findings}


def test_the_least_waste_vial_then_the_fewest_vials(pk: PlanningKnowledge) -> None:
    four = [{"muscle": m, "side": "left"} for m in MUSCLES[:4]]  # 4 x 25 U = 100 U
    plan = run(request(four, history=EARLIER, plan={"product": "botox"}), pk)
    assert (plan.vials.vial_units, plan.vials.vial_count, plan.vials.discarded_units) == (100, 1, 0)
    only_200 = request(four, history=EARLIER, plan={"product": "botox", "vial_units": 200})
    plan = run(only_200, pk)
    assert (plan.vials.vial_units, plan.vials.discarded_units) == (200, 100)


def test_dilution_uses_whole_graduations(pk: PlanningKnowledge) -> None:
    plan = run(request(BOTOX_TARGETS, history=EARLIER, plan={"product": "botox"}), pk)
    # 85 U: one 100 U vial; 1 mL gives 10 U = 0.1 mL, 25 U = 0.25 mL, 50 U = 0.5 mL
    assert plan.dilution.diluent_ml == 1.0
    assert plan.dilution.graduation_ml == 0.05
    assert [s.volume_ml for s in plan.sites] == [0.5, 0.25, 0.1]
    assert plan.decision.decision in ("allow", "warn")


def test_units_are_never_converted_between_products(pk: PlanningKnowledge) -> None:
    # a large dose of another product 30 days ago does not reduce this product's room
    other = [{"date": "2026-10-24", "product": "dysport", "total_units": 1000}]
    plan = run(request(BOTOX_TARGETS, history=other, plan={"product": "botox"}), pk)
    again = run(request(BOTOX_TARGETS, history=EARLIER, plan={"product": "botox"}), pk)
    assert plan.total_units == again.total_units
    assert "retreatment.other_product" in {f.code for f in plan.decision.findings}


def test_more_sites_than_the_cited_study_warns_with_its_source(pk: PlanningKnowledge) -> None:
    every = [{"muscle": m, "side": s} for m in MUSCLES for s in ("left", "right")]
    plan = run(request(every, history=EARLIER, plan={"product": "botox"}), pk)
    cited = pk.planning.products["onabotulinumtoxinA"].max_sites
    assert cited is not None and cited.value == 5  # Ferrante 2005: "up to five active trigger points"
    assert len(plan.sites) > cited.value
    (found,) = plan.findings
    assert (found.code, found.severity) == ("planning.site_count", "warn")
    assert f"{len(plan.sites)} injection sites" in found.message
    assert "at most 5 trigger points" in found.message
    assert found.source == pk.cite(cited) and "Ferrante et al. 2005" in found.source
    assert "five active trigger points" in found.source
    # the engine's decision stays what `bontrack check` says of the check input
    assert "planning.site_count" not in {f.code for f in plan.decision.findings}


def test_sites_up_to_the_cited_number_give_no_finding(pk: PlanningKnowledge) -> None:
    five = [{"muscle": m, "side": "left"} for m in MUSCLES[:5]]
    plan = run(request(five, history=EARLIER, plan={"product": "botox"}), pk)
    assert len(plan.sites) == 5 and plan.findings == []
    # DYSPORT's doses come from Gobel 2006's 10 trigger points; a label-derived range cites none
    eleven = [{"muscle": m, "side": s} for m in MUSCLES[:6] for s in ("left", "right")][:11]
    dysport = run(request(eleven, history=EARLIER, plan={"product": "dysport"}), pk)
    assert len(dysport.sites) == 11 and [f.code for f in dysport.findings] == ["planning.site_count"]
    assert "Gobel et al. 2006" in dysport.findings[0].source
    xeomin = run(request(eleven, history=EARLIER, plan={"product": "xeomin"}), pk)
    assert len(xeomin.sites) == 11 and xeomin.findings == []


def test_too_soon_cannot_be_planned(pk: PlanningKnowledge) -> None:
    soon = [{"date": "2026-09-01", "product": "botox", "total_units": 100}]
    with pytest.raises(PlanningError) as exc:
        run(request(BOTOX_TARGETS, history=soon, plan={"product": "botox"}), pk)
    assert "2026-11-24" in exc.value.reason and exc.value.source


@pytest.mark.parametrize(
    ("back", "words"), [(1, "was 1 day ago ("), (0, "was today ("), (2, "was 2 days ago (")]
)
def test_too_soon__the_days_since_the_last_session_in_words(
    pk: PlanningKnowledge, back: int, words: str
) -> None:
    last = [{"date": (PLAN_DATE - timedelta(days=back)).isoformat(), "product": "botox", "total_units": 50}]
    with pytest.raises(PlanningError) as exc:
        run(request(BOTOX_TARGETS, history=last, plan={"product": "botox"}), pk)
    assert words in exc.value.reason


def test_a_used_up_label_interval_cannot_be_planned(pk: PlanningKnowledge) -> None:
    # 400 U of BOTOX 85 days ago: outside the 84-day interval but inside the label's 3 months
    used = [{"date": "2026-08-30", "product": "botox", "total_units": 400}]
    with pytest.raises(PlanningError) as exc:
        run(request(BOTOX_TARGETS, history=used, plan={"product": "botox"}), pk)
    assert "3-month" in exc.value.reason


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["targets"][0].update(muscle="biceps"), "targets[0].muscle"),
        (lambda d: d["targets"][0].update(side="middle"), "targets[0].side"),
        (lambda d: d["targets"][0].update(intensity="max"), "targets[0].intensity"),
        (lambda d: d["targets"].append(dict(d["targets"][0])), "targets[3]"),
        (lambda d: d.update(targets=[]), "targets"),
        (lambda d: d.pop("targets"), "targets"),
        (lambda d: d["plan"].update(product="jeuveau"), "plan.product"),
        (lambda d: d["plan"].update(vial_units=150), "plan.vial_units"),
        (lambda d: d["plan"].update(sites=[]), "plan.sites"),
        (
            lambda d: d["history"].append({"date": "2027-01-01", "product": "botox", "total_units": 10}),
            "history[0].date",
        ),
        (lambda d: d["patient"].update(birth_date="2030-01-01"), "patient.birth_date"),
    ],
)
def test_invalid_input_names_the_field(pk: PlanningKnowledge, edit: Any, field: str) -> None:
    doc = request(BOTOX_TARGETS, plan={"product": "botox"})
    edit(doc)
    with pytest.raises(PlanInputError) as exc:
        parse_plan_dose_request(doc, pk)
    assert field in [e.field for e in exc.value.errors]


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, check=False
    )


def test_cli_examples_and_feeding_check_and_code(tmp_path: Path) -> None:
    result = bontrack("plan-dose", str(ROOT / "examples" / "plan-dose" / "02_botox_retreatment.json"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"sites", "vials", "dilution", "decision", "check_input", "limits"}
    # the proposed plan is a check document: check and code accept it as it is
    path = tmp_path / "planned.json"
    path.write_text(json.dumps(out["check_input"]))
    check = bontrack("check", str(path))
    assert check.returncode == 0 and json.loads(check.stdout)["decision"] == out["decision"]["decision"]
    code = json.loads(bontrack("code", str(path)).stdout)
    assert code["administered_units"] == out["total_units"]
    assert code["discarded_units"] == out["vials"]["discarded_units"]


def test_cli_no_plan_exits_3_with_the_reason() -> None:
    result = bontrack("plan-dose", str(ROOT / "examples" / "plan-dose" / "04_no_plan_too_soon.json"))
    assert result.returncode == 3
    assert json.loads(result.stdout)["planned"] is False
    assert "minimum interval" in result.stderr and "Traceback" not in result.stderr


def test_cli_invalid_exits_2_naming_the_field(tmp_path: Path) -> None:
    doc = request(
        [{"muscle": "upper_trapezius", "side": "left", "intensity": "lots"}], plan={"product": "botox"}
    )
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    result = bontrack("plan-dose", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert "targets[0].intensity" in result.stderr and "Traceback" not in result.stderr


def test_every_example_plans_or_says_why() -> None:
    for path in sorted((ROOT / "examples" / "plan-dose").glob("*.json")):
        result = bontrack("plan-dose", str(path))
        assert result.returncode in (0, 3), (path.name, result.stderr)
        assert "Traceback" not in result.stderr
        math.isfinite(len(result.stdout))
