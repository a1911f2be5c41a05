"""change_from_baseline: sign conventions, thresholds from the knowledge base, errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bontrack.instruments import InstrumentError, change_from_baseline
from bontrack.knowledge import load_knowledge


def test_defaults__primary_scores() -> None:
    assert change_from_baseline("nprs", 5, 4).score == "pain_intensity"
    assert change_from_baseline("vas", 50, 40).score == "pain_intensity_mm"
    assert change_from_baseline("ndi", 20, 10).score == "total"
    assert change_from_baseline("rand36", 40, 60).score == "pain"


def test_direction__lower_is_better_for_pain_and_disability() -> None:
    for instrument in ("nprs", "vas", "ndi"):
        c = change_from_baseline(instrument, 8, 4)
        assert c.better == "lower" and c.change == -4 and c.improvement == 4


def test_direction__higher_is_better_for_rand36() -> None:
    c = change_from_baseline("rand36", 40, 60, score="physical_functioning")
    assert c.better == "higher" and c.change == 20 and c.improvement == 20
    assert c.percent_change == 50 and c.responder_substantial is True


def test_thresholds__come_from_the_knowledge_base() -> None:
    t = load_knowledge().files.outcomes.responder_thresholds
    c = change_from_baseline("nprs", 10, 5)
    assert (c.moderate_percent, c.substantial_percent) == (
        t.moderate_percent.value,
        t.substantial_percent.value,
    )
    assert {"responder_30", "responder_50"} <= c.to_dict().keys()


def test_mcid__cited_from_the_knowledge_base() -> None:
    c = change_from_baseline("nprs", 7, 5)
    assert c.mcid is not None and c.mcid.value == 2
    assert "Farrar" in c.mcid.citation and c.mcid_met is True
    ndi = change_from_baseline("ndi", 20, 15)
    assert ndi.mcid is not None and ndi.mcid.value == 5 and ndi.mcid_met is True


def test_mcid__none_adopted_is_null_with_reason() -> None:
    c = change_from_baseline("rand36", 40, 60)
    assert c.mcid is not None and c.mcid.value is None and c.mcid_met is None
    assert any("no MCID adopted" in note for note in c.notes)


def test_mcid__score_without_an_entry_is_null() -> None:
    c = change_from_baseline("ndi", 40, 20, score="percent")
    assert c.mcid is None and c.mcid_met is None
    assert any("no MCID in the knowledge base" in note for note in c.notes)


def test_zero_baseline__percent_and_responders_null() -> None:
    c = change_from_baseline("rand36", 0, 50)
    assert c.percent_change is None and c.responder_moderate is None
    assert c.improvement == 50


def test_no_change__not_negative_zero() -> None:
    c = change_from_baseline("ndi", 12, 12)
    assert math.copysign(1, c.improvement) == 1 and math.copysign(1, c.change) == 1


@pytest.mark.parametrize(
    ("instrument", "baseline", "followup", "score", "message"),
    [
        ("nprs", 11, 3, None, r"NPRS pain_intensity baseline must be 0-10 points, got 11"),
        ("vas", 50, -1, None, r"VAS pain_intensity_mm followup must be 0-100 mm"),
        ("ndi", 51, 3, None, r"NDI total baseline must be 0-50 points"),
        ("nprs", math.nan, 3, None, r"baseline must be 0-10"),
        ("rand36", 50, 50, "vitality", r"RAND-36 has no score 'vitality'"),
        ("odi", 50, 50, None, r"unknown instrument 'odi'"),
    ],
)
def test_errors(instrument: str, baseline: float, followup: float, score: str | None, message: str) -> None:
    with pytest.raises(InstrumentError, match=message):
        change_from_baseline(instrument, baseline, followup, score)


@given(st.integers(1, 10), st.integers(0, 10))
def test_nprs__responders_match_integer_arithmetic(baseline: int, followup: int) -> None:
    c = change_from_baseline("nprs", baseline, followup)
    drop = baseline - followup
    assert c.responder_moderate == (drop * 100 >= 30 * baseline)
    assert c.responder_substantial == (drop * 100 >= 50 * baseline)
    assert c.mcid_met == (drop >= 2)
    assert c.percent_change is not None
    assert abs(c.percent_change - (followup - baseline) / baseline * 100) < 1e-9


@given(st.integers(1, 100), st.integers(0, 100))
def test_rand36__improvement_is_mirror_of_nprs_convention(baseline: int, followup: int) -> None:
    up = change_from_baseline("rand36", baseline, followup)
    down = change_from_baseline("vas", baseline, followup)
    assert up.change == down.change == followup - baseline
    assert up.improvement == -down.improvement or up.improvement == down.improvement == 0


@pytest.mark.parametrize(
    ("baseline", "followups", "expected"),
    [
        (7, {6: 4.9}, True),  # exactly 30%
        (7, {6: 5}, False),
        (10, {2: 7, 6: 8}, False),  # judged at week 6, not week 2
        (10, {2: 9, 12: 7}, True),  # no week 6: week 12
        (10, {2: 1}, None),  # never on week 2 alone
        (10, {6: None, 12: 6}, True),  # a missing week-6 score is no score
        (0, {6: 0}, None),  # a zero baseline cannot improve
        (None, {6: 3}, None),
        (6, {}, None),
    ],
)
def test_cycle_responded__boundaries(baseline, followups, expected) -> None:
    from bontrack.instruments.response import cycle_responded

    got = cycle_responded(baseline, followups, min_improvement_percent=30, judged_at_weeks=[6, 12])
    assert got is expected
