"""Properties of pooling that hold for any data, not only the published examples."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.analytics.effect_sizes import EffectSize, log_odds_ratio, log_risk_ratio, mean_difference, smd
from bontrack.analytics.evidence import pool

effects_strategy = st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 2)), min_size=2, max_size=12).map(
    lambda rows: [EffectSize(f"s{i}", y, v) for i, (y, v) in enumerate(rows)]
)


@settings(max_examples=60, deadline=None)
@given(effects_strategy, st.sampled_from(["REML", "DL"]), st.booleans())
def test_pool__order_invariant_and_bounded(effects: list[EffectSize], method: str, hksj: bool) -> None:
    first = pool(effects, method=method, hksj=hksj)  # type: ignore[arg-type]
    shuffled = effects[:]
    random.Random(1).shuffle(shuffled)
    second = pool(shuffled, method=method, hksj=hksj)  # type: ignore[arg-type]
    assert abs(first.estimate - second.estimate) < 1e-6 and abs(first.tau2 - second.tau2) < 1e-6
    assert first.tau2 >= 0 and 0 <= first.i2 <= 100 and first.q >= 0
    assert first.ci_low <= first.estimate <= first.ci_high


def test_pool__identical_studies_have_no_heterogeneity() -> None:
    for method in ("REML", "DL"):
        result = pool([EffectSize(f"s{i}", 0.3, 0.05) for i in range(5)], method=method)  # type: ignore[arg-type]
        assert result.tau2 == 0 and result.i2 == 0 and abs(result.q) < 1e-12
        assert abs(result.estimate - 0.3) < 1e-12


def test_swapping_arms__flips_the_sign() -> None:
    assert smd("a", 3, 1, 20, 4, 1.5, 25).yi == -smd("a", 4, 1.5, 25, 3, 1, 20).yi
    assert mean_difference("a", 3, 1, 20, 4, 1.5, 25).yi == -mean_difference("a", 4, 1.5, 25, 3, 1, 20).yi
    assert abs(log_risk_ratio("a", 5, 40, 9, 38).yi + log_risk_ratio("a", 9, 38, 5, 40).yi) < 1e-12
    assert abs(log_odds_ratio("a", 0, 40, 9, 38).yi + log_odds_ratio("a", 9, 38, 0, 40).yi) < 1e-12
    arms = [(5, 40, 9, 38), (2, 30, 7, 31), (10, 50, 12, 49)]
    forward = pool([log_risk_ratio(str(i), a, b, c, d) for i, (a, b, c, d) in enumerate(arms)])
    backward = pool([log_risk_ratio(str(i), c, d, a, b) for i, (a, b, c, d) in enumerate(arms)])
    assert abs(forward.estimate + backward.estimate) < 1e-9 and abs(forward.tau2 - backward.tau2) < 1e-9


def test_single_study__is_itself() -> None:
    result = pool([EffectSize("only", -0.4, 0.09)])
    assert result.k == 1 and result.estimate == -0.4 and abs(result.se - 0.3) < 1e-12
    assert result.tau2 == 0 and result.q_p is None
