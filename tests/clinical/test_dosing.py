from __future__ import annotations

import pytest

from tests.clinical.conftest import codes, make


def sites(*triples: tuple[str, str, float]) -> list[dict[str, object]]:
    return [{"muscle": m, "side": s, "units": u} for m, s, u in triples]


def with_sites(*triples: tuple[str, str, float], vial: int = 200, ml: float = 4.0) -> dict[str, object]:
    doc = make()
    doc["plan"].update({"vial_units": vial, "diluent_ml": ml, "sites": sites(*triples)})
    return doc


def test_dilution__units_per_tenth_ml_and_volume_per_site(run) -> None:
    decision = run(make())  # 100 U in 2 mL, 25 U to one site
    assert decision.dilution.units_per_0_1_ml == 5
    assert decision.dilution.sites[0].volume_ml == 0.5
    info = next(f for f in decision.findings if f.code == "dilution.arithmetic")
    assert "5 U per 0.1 mL" in info.message and "0.5 mL" in info.message


@pytest.mark.parametrize(("ml", "per_tenth"), [(1.0, 10), (2.0, 5), (4.0, 2.5), (8.0, 1.25)])
def test_dilution__botox_100_unit_table(run, ml, per_tenth) -> None:
    doc = make()
    doc["plan"]["diluent_ml"] = ml
    assert run(doc).dilution.units_per_0_1_ml == per_tenth


def test_dilution__myobloc_solution_counts_the_liquid_already_in_the_vial(run) -> None:
    doc = make()
    doc["plan"] = {
        **doc["plan"],
        "product": "myobloc",
        "vial_units": 5000,
        "diluent_ml": 1.0,
        "reconstituted_at": "2026-11-23T09:00:00",
        "sites": sites(("upper_trapezius", "left", 1250)),
    }
    d = run(doc).dilution
    assert d.units_per_ml == 2500  # 5,000 U in 1 mL of solution + 1 mL saline
    assert d.sites[0].volume_ml == 0.5


def test_dilution__volume_outside_label_range_warns(run) -> None:
    doc = make()
    doc["plan"]["diluent_ml"] = 10.0
    assert "dilution.volume_out_of_range" in codes(run(doc), "warn")


def test_scm_cap__100_units_over_both_sides_is_allowed(run) -> None:
    decision = run(with_sites(("sternocleidomastoid", "left", 50), ("sternocleidomastoid", "right", 50)))
    assert "dose.muscle_cap" not in codes(decision)
    assert "dose.bilateral_scm" in codes(decision, "warn")


def test_scm_cap__one_unit_over_blocks(run) -> None:
    decision = run(with_sites(("sternocleidomastoid", "left", 50), ("sternocleidomastoid", "right", 51)))
    assert decision.decision == "block"
    assert "dose.muscle_cap" in codes(decision, "block")


def test_scm_cap__fractional_units_summing_to_the_cap_are_not_over(run) -> None:
    triples = [("sternocleidomastoid", "left", 33.3), ("sternocleidomastoid", "left", 33.3)]
    decision = run(with_sites(*triples, ("sternocleidomastoid", "left", 33.4)))
    assert "dose.muscle_cap" not in codes(decision)


def test_scm_cap__does_not_apply_to_a_product_without_one(run) -> None:
    doc = with_sites(("sternocleidomastoid", "left", 150), vial=500, ml=2.5)
    doc["plan"]["product"] = "dysport"
    assert "dose.muscle_cap" not in codes(run(doc))


@pytest.mark.parametrize(("units", "warned"), [(50, False), (51, True)])
def test_site_max__botox_50_units_per_site(run, units, warned) -> None:
    assert ("dose.site_max" in codes(run(with_sites(("upper_trapezius", "left", units))), "warn")) is warned


def test_session_max__xeomin_400_reached_allowed_401_blocks(run) -> None:
    def doc(units: float) -> dict[str, object]:
        d = with_sites(("upper_trapezius", "left", 200), ("upper_trapezius", "right", units - 200), vial=200)
        d["plan"].update({"product": "xeomin", "vial_count": 2})
        return d

    assert "dose.session_max" not in codes(run(doc(400)))
    # A first treatment: one warning, the label's initial dose, naming the usual range as well.
    above = next(f for f in run(doc(400)).findings if f.code == "dose.above_initial")
    assert above.severity == "warn" and "usual cervical range 120-240 U" in above.message
    assert "dose.session_max" in codes(run(doc(401)), "block")


def test_session_total_above_the_vials_prepared_blocks(run) -> None:
    decision = run(
        with_sites(("upper_trapezius", "left", 60), ("upper_trapezius", "right", 60), vial=100, ml=2)
    )
    assert "dose.exceeds_vials" in codes(decision, "block")


def test_vial_count__two_vials_hold_twice_the_units(run) -> None:
    doc = with_sites(("upper_trapezius", "left", 60), ("upper_trapezius", "right", 60), vial=100, ml=2)
    doc["plan"]["vial_count"] = 2
    assert "dose.exceeds_vials" not in codes(run(doc))


def test_first_treatment__xeomin_above_initial_120_units_warns(run) -> None:
    doc = with_sites(("upper_trapezius", "left", 60), ("upper_trapezius", "right", 61), vial=200)
    doc["plan"]["product"] = "xeomin"
    assert "dose.above_initial" in codes(run(doc), "warn")
    doc["plan"]["sites"][1]["units"] = 60
    assert "dose.above_initial" not in codes(run(doc))


def test_first_treatment_rule__not_after_any_toxin_history(run) -> None:
    doc = with_sites(("upper_trapezius", "left", 100), ("upper_trapezius", "right", 100), vial=200)
    doc["plan"]["product"] = "xeomin"
    doc["history"] = [{"date": "2026-01-05", "product": "botox", "total_units": 100}]
    assert "dose.above_initial" not in codes(run(doc))


def _myobloc_first(units_each: float) -> dict[str, object]:
    both = [("upper_trapezius", side, units_each) for side in ("left", "right")]
    doc = with_sites(*both, vial=2500)
    doc["plan"].update({"product": "myobloc", "diluent_ml": 0.0})
    doc["history"] = []
    return doc


def test_first_treatment__myobloc_2500_units_warns_the_label_asks_lower(run) -> None:
    # MYOBLOC label section 2.2: 2,500 to 5,000 U for a patient who tolerated toxin before; one
    # without that history "should receive a lower initial dose": 2,500 U itself is not lower.
    decision = run(_myobloc_first(1250))
    above = next(f for f in decision.findings if f.code == "dose.above_initial")
    assert above.severity == "warn" and decision.decision == "warn"
    assert "lower initial dose than 2,500 U" in above.message
    assert "without a history of tolerating botulinum toxin" in above.message
    assert "dose.above_initial" not in codes(run(_myobloc_first(1125)))  # 2,250 U: lower


def test_first_treatment__myobloc_2500_units_after_toxin_history_is_allowed(run) -> None:
    doc = _myobloc_first(1250)
    doc["history"] = [{"date": "2026-01-05", "product": "botox", "total_units": 100}]
    assert "dose.above_initial" not in codes(run(doc))


def test_first_treatment__xeomin_at_120_units_still_allowed(run) -> None:
    # XEOMIN's label gives 120 U as the initial dose itself: reaching it does not warn
    doc = with_sites(("upper_trapezius", "left", 60), ("upper_trapezius", "right", 60), vial=200)
    doc["plan"]["product"] = "xeomin"
    doc["history"] = []
    assert "dose.above_initial" not in codes(run(doc))


def test_first_treatment__above_session_max_blocks_and_still_says_the_initial_dose(run) -> None:
    # DYSPORT, first treatment, 1,040 U: the block first, and the initial-dose warning too (a
    # different reason: lowering to the 1,000 U maximum would still be above 500 U)
    doc = with_sites(("upper_trapezius", "left", 520), ("upper_trapezius", "right", 520), vial=500, ml=2.5)
    doc["plan"].update({"product": "dysport", "vial_count": 3})
    doc["history"] = []
    decision = run(doc)
    found = [(f.code, f.severity) for f in decision.findings if f.code.startswith("dose.")]
    assert ("dose.session_max", "block") in found and ("dose.above_initial", "warn") in found
    assert decision.decision == "block"
    order = [f.code for f in decision.findings]
    assert order.index("dose.session_max") < order.index("dose.above_initial")
    above = next(f for f in decision.findings if f.code == "dose.above_initial")
    assert "500 U" in above.message and "usual" not in above.message  # the usual range is the block's
