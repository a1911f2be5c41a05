from __future__ import annotations

import pytest

from tests.clinical.conftest import codes, make


@pytest.mark.parametrize(("onset", "warned"), [("2026-08-31", False), ("2026-09-01", True)])
def test_chronic_pain__twelve_weeks_from_onset(run, onset, warned) -> None:
    doc = make(episode={"pain_onset_date": onset})  # 84 and 83 days before 2026-11-23
    assert ("eligibility.not_chronic" in codes(run(doc), "warn")) is warned


@pytest.mark.parametrize(("weeks", "warned"), [(6, False), (5.9, True), (0, True)])
def test_conservative_care__six_weeks(run, weeks, warned) -> None:
    doc = make(episode={"conservative_care_weeks": weeks})
    assert ("eligibility.conservative_care" in codes(run(doc), "warn")) is warned


def test_no_physical_therapy__warns(run) -> None:
    decision = run(make(plan={"physical_therapy": False}))
    assert decision.decision == "warn"
    assert "pathway.no_physical_therapy" in codes(decision, "warn")


def test_trigger_point__needed_on_the_same_side(run) -> None:
    doc = make(episode={"trigger_points": [{"muscle": "upper_trapezius", "side": "right"}]})
    finding = next(f for f in run(doc).findings if f.code == "pathway.no_trigger_point")
    assert finding.message == "No trigger point documented for: upper trapezius left."


def test_trigger_point__one_warning_per_muscle_and_side(run) -> None:
    doc = make(episode={"trigger_points": []})
    doc["plan"]["sites"] = [
        {"muscle": "levator_scapulae", "side": "left", "units": 10},
        {"muscle": "levator_scapulae", "side": "left", "units": 10},
    ]
    assert [f.code for f in run(doc).findings].count("pathway.no_trigger_point") == 1


@pytest.mark.parametrize(("birth", "warned"), [("2010-11-23", False), ("2010-11-24", True)])
def test_age__botox_from_16(run, birth, warned) -> None:
    assert ("eligibility.age" in codes(run(make(patient={"birth_date": birth})), "warn")) is warned
