"""Issue 11: the plan is judged on current facts, and each finding is read once.

Boundaries: screening 30 days passes, 31 blocks; a trigger point found 180 days ago is current,
181 stale; only a physician injects; a woman is asked about pregnancy on the day from 12 to 55.
The numbers come from the knowledge base (pathway.toml), so the tests read them there too.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bontrack.clinical.plan import PlanInputError, parse_check_request
from tests.clinical.conftest import codes, make

PLAN_DAY = date(2026, 11, 23)


def days_before(n: int) -> str:
    return (PLAN_DAY - timedelta(days=n)).isoformat()


def test_the_limits_are_the_knowledge_base_s(kb) -> None:
    path = kb.files.pathway
    assert path.screening_max_age_days.value == 30
    assert path.trigger_point_max_age_days.value == 180
    assert (path.pregnancy_check_ages.low, path.pregnancy_check_ages.high) == (12, 55)
    assert path.injector_roles.roles == ["physician"]
    for fact in (path.screening_max_age_days, path.trigger_point_max_age_days, path.injector_roles):
        assert kb.cite(fact).startswith(kb.files.sources[fact.source].title)


# ---- screening date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_days", "blocked"), [(0, False), (1, False), (30, False), (31, True), (400, True)]
)
def test_screening__day_30_passes_day_31_blocks(run, age_days: int, blocked: bool) -> None:
    decision = run(make(patient={"screened_on": days_before(age_days), "sex": "male"}))
    assert ("screening.stale" in codes(decision, "block")) is blocked
    assert decision.decision == ("block" if blocked else "allow")
    if blocked:
        stale = next(f for f in decision.findings if f.code == "screening.stale")
        assert stale.advice == "Screen again today."
        assert f"{age_days} days old" in stale.message
        assert decision.findings[0].code == "screening.stale"  # the block comes first


def test_screening__no_date_warns_that_it_is_unknown(run) -> None:
    doc = make(patient={"sex": "male"})
    del doc["patient"]["screened_on"]
    decision = run(doc)
    assert decision.decision == "warn"
    assert codes(decision, "warn") == {"screening.date_unknown"}


def test_screening__after_the_plan_date_is_invalid(kb) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(make(patient={"screened_on": "2026-11-24"}), kb)
    assert [e.field for e in err.value.errors] == ["patient.screened_on"]


# ---- pregnancy confirmed today -------------------------------------------------------------


def born_years_before(years: int, *, extra_days: int = 0) -> str:
    return (PLAN_DAY.replace(year=PLAN_DAY.year - years) - timedelta(days=extra_days)).isoformat()


@pytest.mark.parametrize(
    ("birth_date", "asked"),
    [
        (born_years_before(12, extra_days=-1), False),  # 11 years old, birthday tomorrow
        (born_years_before(12), True),  # 12 today
        (born_years_before(56, extra_days=-1), True),  # 55, 56 tomorrow
        (born_years_before(56), False),  # 56 today
    ],
)
def test_pregnancy_not_today__women_12_to_55(run, birth_date: str, asked: bool) -> None:
    doc = make(patient={"birth_date": birth_date, "screened_on": days_before(3), "pregnant": False})
    doc["episode"]["pain_onset_date"] = max(birth_date, doc["episode"]["pain_onset_date"])
    decision = run(doc)
    assert ("screening.pregnancy_not_today" in codes(decision, "warn")) is asked


def test_pregnancy_not_today__not_when_screened_today_nor_for_a_man(run) -> None:
    assert "screening.pregnancy_not_today" not in codes(run(make()))
    male = make(patient={"sex": "male", "screened_on": days_before(3)})
    assert "screening.pregnancy_not_today" not in codes(run(male))


def test_pregnancy_not_today__even_when_she_answered_not_pregnant(run) -> None:
    decision = run(make(patient={"screened_on": days_before(10), "pregnant": False}))
    assert decision.decision == "warn"
    assert codes(decision, "warn") == {"screening.pregnancy_not_today"}
    finding = next(f for f in decision.findings if f.code == "screening.pregnancy_not_today")
    assert finding.advice == "Confirm pregnancy status today before injecting."


# ---- trigger points found recently enough ---------------------------------------------------


def with_found_on(day: str) -> dict[str, Any]:
    doc = make()
    for tp in doc["episode"]["trigger_points"]:
        tp["found_on"] = day
    return doc


@pytest.mark.parametrize(("age_days", "stale"), [(0, False), (180, False), (181, True), (600, True)])
def test_trigger_point__day_180_current_day_181_stale(run, age_days: int, stale: bool) -> None:
    decision = run(with_found_on(days_before(age_days)))
    assert ("pathway.trigger_point_stale" in codes(decision, "warn")) is stale
    assert "pathway.no_trigger_point" not in codes(decision)


def test_trigger_point__stale_names_every_muscle_in_one_warning(run) -> None:
    doc = with_found_on(days_before(200))
    doc["plan"]["sites"] = [
        {"muscle": "upper_trapezius", "side": "left", "units": 20},
        {"muscle": "upper_trapezius", "side": "right", "units": 20},
    ]
    stale = [f for f in run(doc).findings if f.code == "pathway.trigger_point_stale"]
    assert len(stale) == 1
    assert stale[0].message.endswith("upper trapezius left, upper trapezius right.")


def test_trigger_point__an_unplanned_stale_muscle_says_nothing(run) -> None:
    doc = make()
    doc["episode"]["trigger_points"][3]["found_on"] = days_before(400)  # SCM right, not injected
    assert "pathway.trigger_point_stale" not in codes(run(doc))


def test_trigger_point__found_after_the_plan_date_is_invalid(kb) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(with_found_on("2026-11-24"), kb)
    assert {e.field for e in err.value.errors} == {f"episode.trigger_points[{i}].found_on" for i in range(4)}


def test_trigger_point__without_a_date_is_current(run) -> None:
    doc = make()
    for tp in doc["episode"]["trigger_points"]:
        del tp["found_on"]
    assert run(doc).decision == "allow"


# ---- who injects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "blocked"),
    [
        ("physician", False),
        ("physical_therapist", True),
        ("staff", True),
        ("researcher", True),
        ("admin", True),
        ("nurse", True),
        ("chiropractor", True),
    ],
)
def test_injector__only_a_physician(run, role: str, blocked: bool) -> None:
    decision = run(make(plan={"injector_role": role}))
    assert ("injector.not_qualified" in codes(decision, "block")) is blocked
    assert decision.decision == ("block" if blocked else "allow")


def test_injector__absent_role_says_nothing(run) -> None:
    doc = make()
    del doc["plan"]["injector_role"]
    assert run(doc).decision == "allow"


# ---- impossible inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"patient": {"birth_date": born_years_before(120, extra_days=1)}}, "patient.birth_date"),
        ({"episode": {"pain_onset_date": "1979-01-01"}}, "episode.pain_onset_date"),
        ({"plan": {"lot_expiry": "1999-12-31"}}, "plan.lot_expiry"),
    ],
)
def test_impossible_dates_are_invalid(kb, edit: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(make(**edit), kb)
    assert [e.field for e in err.value.errors] == [field]


def test_possible_edges_are_valid(kb) -> None:
    doc = make(patient={"birth_date": born_years_before(120)}, plan={"lot_expiry": "2000-01-01"})
    doc["episode"]["pain_onset_date"] = doc["patient"]["birth_date"]
    parse_check_request(doc, kb)


# ---- one finding per code --------------------------------------------------------------------


def test_brand_and_generic_give_one_finding_quoting_both(run) -> None:
    decision = run(make(patient={"medications": ["Coumadin", "warfarin 5 mg"]}))
    anticoag = [f for f in decision.findings if f.code == "medication.anticoagulants"]
    assert len(anticoag) == 1
    assert anticoag[0].message == "Anticoagulant: warfarin (entered as 'Coumadin', 'warfarin 5 mg')."


def test_medicines_without_interaction_say_nothing(run) -> None:
    decision = run(make(patient={"medications": ["paracetamol", "Tylenol 500 mg", "atorvastatin 20 mg"]}))
    assert decision.decision == "allow"
    assert not [f for f in decision.findings if f.code.startswith("medication.")]


def test_several_muscles_without_trigger_points_in_one_warning(run) -> None:
    doc = make()
    doc["episode"]["trigger_points"] = []
    doc["plan"]["sites"] = [
        {"muscle": m, "side": s, "units": 10}
        for m in ("levator_scapulae", "splenius_capitis", "upper_trapezius")
        for s in ("left", "right")
    ]
    decision = run(doc)
    missing = [f for f in decision.findings if f.code == "pathway.no_trigger_point"]
    assert len(missing) == 1
    assert missing[0].message == (
        "No trigger point documented for: levator scapulae left, levator scapulae right, "
        "splenius capitis left, splenius capitis right, upper trapezius left, upper trapezius right."
    )


def test_a_450_unit_block_is_first_and_not_buried(run) -> None:
    doc = make(plan={"vial_units": 200, "vial_count": 3, "diluent_ml": 4.0})
    doc["episode"]["trigger_points"] = []
    doc["plan"]["sites"] = [
        {"muscle": m, "side": s, "units": 50}
        for m in ("levator_scapulae", "splenius_capitis", "upper_trapezius", "rhomboid_major")
        for s in ("left", "right")
    ] + [{"muscle": "upper_trapezius", "side": "left", "units": 50}]
    decision = run(doc)
    assert decision.decision == "block"
    assert decision.findings[0].severity == "block"
    assert [f.code for f in decision.findings].count("pathway.no_trigger_point") == 1
    assert len({f.code for f in decision.findings}) == len(decision.findings)


def test_a_single_usual_dose_is_not_printed_as_a_range(run) -> None:
    doc = make(plan={"product": "dysport", "vial_units": 500, "diluent_ml": 2.5})
    doc["plan"]["sites"] = [
        {"muscle": "upper_trapezius", "side": side, "units": 300} for side in ("left", "right")
    ]
    doc["episode"]["trigger_points"] = doc["episode"]["trigger_points"][:2]
    doc["plan"]["vial_count"] = 2
    # Not a first treatment: for a toxin-naive patient the label's initial dose (also 500 U)
    # is the one finding (see test_clinician_scenarios).
    doc["history"] = [{"date": "2026-06-01", "product": "dysport", "total_units": 500}]
    decision = run(doc)
    usual = next(f for f in decision.findings if f.code == "dose.above_usual")
    assert "usual cervical dose 500 U" in usual.message
    assert "500-500" not in " ".join(f.message for f in decision.findings)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"date": "9999-12-31"}, "date"),
        ({"patient": {"birth_date": "0001-01-01"}}, "patient.birth_date"),
        ({"plan": {"lot_expiry": "9999-12-31"}}, "plan.lot_expiry"),
        ({"plan": {"reconstituted_at": "9999-12-31T23:30:00"}}, "plan.reconstituted_at"),
    ],
)
def test_dates_outside_the_calendar_are_invalid_not_a_crash(kb, edit: dict[str, Any], field: str) -> None:
    with pytest.raises(PlanInputError) as err:
        parse_check_request(make(**edit), kb)
    named = {e.field: e.message for e in err.value.errors}
    assert field in named
    assert named[field].endswith("is out of range; allowed: 1900-01-01 to 2100-12-31")
