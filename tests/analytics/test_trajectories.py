from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bontrack.analytics.trajectories import fit_trajectory


def simulated(seed: int, n: int = 300, drop: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true = {0: 7.0, 2: 4.5, 6: 4.0, 12: 5.5}
    rows = []
    for p in range(n):
        u = rng.normal(0, 1.0)
        for visit, mu in true.items():
            if visit and rng.random() < drop:
                continue
            rows.append((f"p{p}", visit, mu + u + rng.normal(0, 0.8)))
    return pd.DataFrame(rows, columns=["patient_id", "visit", "value"])


def test_fit_trajectory__recovers_visit_means_and_variances() -> None:
    t = fit_trajectory(simulated(1))
    assert t.visits == [0, 2, 6, 12]
    for got, want in zip(t.mean, [7.0, 4.5, 4.0, 5.5], strict=True):
        assert got == pytest.approx(want, abs=0.2)
    assert t.patient_variance == pytest.approx(1.0, abs=0.3)
    assert t.residual_variance == pytest.approx(0.64, abs=0.12)
    assert all(lo < m < hi for lo, m, hi in zip(t.low, t.mean, t.high, strict=True))


def test_fit_trajectory__interval_covers_truth_with_dropout() -> None:
    t = fit_trajectory(simulated(2, drop=0.3))
    for lo, hi, want in zip(t.low, t.high, [7.0, 4.5, 4.0, 5.5], strict=True):
        assert lo - 0.1 < want < hi + 0.1
