"""Mixed vial sizes: the least-waste combination, checked against a brute force over every
combination of a product's vial sizes."""

from __future__ import annotations

import math
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.knowledge import load_knowledge
from bontrack.planning.dose import parse_plan_dose_request, plan_dose
from bontrack.planning.knowledge import PlanningKnowledge
from bontrack.planning.vials import MAX_VIALS, choose_vial_mix

KB = load_knowledge()
PRODUCT_SIZES = {pid: tuple(v.units for v in p.vials) for pid, p in KB.files.products.items()}


@cache
def brute_force(total: float, sizes: tuple[float, ...]) -> tuple[float, int] | None:
    """(least discarded units, fewest vials at that waste) over every multiset of sizes."""
    best: tuple[float, int] | None = None

    def walk(i: int, opened: float, n: int) -> None:
        nonlocal best
        if opened >= total - 1e-9 and n:
            key = (round(opened - total, 6), n)
            best = key if best is None or key < best else best
            return
        if i == len(sizes) or n == MAX_VIALS:
            return
        for c in range(MAX_VIALS - n + 1):
            walk(i + 1, opened + c * sizes[i], n + c)
            if opened + c * sizes[i] >= total - 1e-9:
                break

    walk(0, 0.0, 0)
    return best


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mix_is_minimal_waste_then_fewest_vials(data: st.DataObject) -> None:
    pid = data.draw(st.sampled_from(sorted(PRODUCT_SIZES)), label="product")
    sizes = PRODUCT_SIZES[pid]
    step = min(sizes) / 20
    total = data.draw(st.integers(1, math.floor(MAX_VIALS * max(sizes) / step)), label="steps") * step
    mix = choose_vial_mix(total, sizes)
    expected = brute_force(total, sizes)
    if expected is None:
        assert mix is None
        return
    assert mix is not None
    assert (mix.discarded_units, mix.vial_count) == pytest.approx(expected)
    assert mix.opened_units == pytest.approx(sum(v.vial_units * v.count for v in mix.vials))
    assert all(v.vial_units in sizes and v.count > 0 for v in mix.vials)
    # never worse than the best single size
    singles = [(math.ceil(total / s - 1e-9) * s - total, math.ceil(total / s - 1e-9)) for s in sizes]
    single = min((w, n) for w, n in singles if n <= MAX_VIALS)
    assert mix.discarded_units <= single[0] + 1e-6
    if abs(mix.discarded_units - single[0]) < 1e-6:
        assert mix.vial_count <= single[1]


def test_dysport_800_units_is_one_500_and_one_300() -> None:
    mix = choose_vial_mix(800, PRODUCT_SIZES["abobotulinumtoxinA"])
    assert mix is not None
    assert [(v.vial_units, v.count) for v in mix.vials] == [(500, 1), (300, 1)]
    assert mix.discarded_units == 0


def test_botox_250_units_is_fewer_vials_than_five_50s() -> None:
    mix = choose_vial_mix(250, PRODUCT_SIZES["onabotulinumtoxinA"])
    assert mix is not None
    assert [(v.vial_units, v.count) for v in mix.vials] == [(200, 1), (50, 1)]


def test_the_planner_offers_the_mix_when_it_needs_fewer_vials(pk: PlanningKnowledge) -> None:
    from tests.planning.conftest import request
    from tests.planning.test_plan_dose import EARLIER, MUSCLES

    three = [{"muscle": m, "side": "left", "intensity": "high"} for m in MUSCLES[:3]]  # 3 x 50 U
    plan = plan_dose(
        parse_plan_dose_request(request(three, history=EARLIER, plan={"product": "botox"}), pk), pk
    )
    assert (plan.total_units, plan.vials.vial_units, plan.vials.vial_count) == (150, 50, 3)
    assert plan.vials.mixed is not None
    assert [(v.vial_units, v.count) for v in plan.vials.mixed.vials] == [(100, 1), (50, 1)]
    assert any(a.startswith("Mixed vial sizes would open 1 x 100 U + 1 x 50 U") for a in plan.assumptions)
    assert plan.check_input.plan.vial_count == 3  # the check input records one size
    only_100 = plan_dose(
        parse_plan_dose_request(
            request(three, history=EARLIER, plan={"product": "botox", "vial_units": 100}), pk
        ),
        pk,
    )
    assert only_100.vials.mixed is None  # one size asked for: no mix offered
