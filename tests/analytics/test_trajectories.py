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


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_fit_trajectory__agrees_with_statsmodels_mixedlm(seed: int) -> None:
    """The closed-form REML fit is the model statsmodels fits: same means, intervals, variances."""
    import statsmodels.formula.api as smf

    frame = simulated(seed, n=120, drop=0.35)
    t = fit_trajectory(frame)
    data = frame.assign(visit=pd.Categorical(frame["visit"]))
    result = smf.mixedlm("value ~ 0 + C(visit)", data, groups=data["patient_id"]).fit(reml=True)
    assert t.mean == pytest.approx(list(result.fe_params), abs=1e-5)
    # Standard errors: ours are sigma2 (X'V^-1 X)^-1 at the optimum (as lme4 and nlme report);
    # statsmodels inverts the Hessian of all parameters jointly, which differs in the 4th digit.
    se = np.sqrt(np.diag(result.cov_params().iloc[: len(t.visits), : len(t.visits)]))
    half = [h - m for h, m in zip(t.high, t.mean, strict=True)]
    assert half == pytest.approx(list(1.959963984540054 * se), rel=1e-3)
    assert t.patient_variance == pytest.approx(float(result.cov_re.iloc[0, 0]), rel=1e-4)  # same REML optimum
    assert t.residual_variance == pytest.approx(float(result.scale), rel=1e-4)


def test_fit_trajectory__intervals_are_dense_gls_at_the_fitted_variances() -> None:
    frame = simulated(6, n=40, drop=0.3).sort_values("patient_id", kind="stable")
    t = fit_trajectory(frame)
    visits = sorted(frame["visit"].unique())
    x = (frame["visit"].to_numpy()[:, None] == np.array(visits)[None, :]).astype(float)
    same = frame["patient_id"].to_numpy()[:, None] == frame["patient_id"].to_numpy()[None, :]
    v = t.residual_variance * np.eye(len(frame)) + t.patient_variance * same
    vinv = np.linalg.inv(v)
    cov = np.linalg.inv(x.T @ vinv @ x)
    beta = cov @ x.T @ vinv @ frame["value"].to_numpy()
    assert t.mean == pytest.approx(list(beta), abs=1e-9)
    half = [h - m for h, m in zip(t.high, t.mean, strict=True)]
    assert half == pytest.approx(list(1.959963984540054 * np.sqrt(np.diag(cov))), rel=1e-9)


def test_visit_frame__each_score_once_a_baseline_is_week_0_of_its_cycle_only() -> None:
    from bontrack.analytics.cycles import ResponseRule, cycle_outcomes
    from bontrack.analytics.trajectories import visit_frame

    t = pd.Timestamp
    sessions = pd.DataFrame(
        {
            "patient_id": ["p", "p", "q", "q"],
            "session_id": ["p1", "p2", "q1", "q2"],
            "date": [t("2026-01-01"), t("2026-04-01"), t("2026-01-02"), t("2026-01-20")],
        }
    )
    m = pd.DataFrame(
        [
            ("p", None, None, t("2026-01-01"), 8.0),  # p1's baseline
            ("p", "p1", 2, t("2026-01-15"), 4.0),
            ("p", "p1", 12, t("2026-03-25"), 6.0),  # p1's week 12 and p2's baseline: one score
            ("p", "p2", 2, t("2026-04-15"), 3.0),
            ("q", None, None, t("2026-01-01"), 7.0),  # baseline of q1 and of q2 (nothing between)
            ("q", "q2", 2, t("2026-02-03"), 5.0),
            ("q", "q1", 6, t("2026-02-13"), 6.0),  # q1's week 6, late: after q2 was given
        ],
        columns=["patient_id", "session_id", "weeks_after_session", "date", "value"],
    )
    m["instrument"], m["score"] = "nprs", "pain_intensity"
    rows = cycle_outcomes(sessions, m, ResponseRule("nprs", "pain_intensity", "lower", 2, 30, 50))
    long = visit_frame(rows)
    got = sorted(zip(long["session_id"], long["weeks"], long["value"], strict=True))
    # 7 distinct scores, 7 points (each cycle's baseline as an extra point gave 9): q's first
    # score is the week 0 of q1, the earlier of the two cycles it is the baseline of
    assert got == [
        ("p1", 0, 8.0),
        ("p1", 2, 4.0),
        ("p2", 0, 6.0),
        ("p2", 2, 3.0),
        ("q1", 0, 7.0),
        ("q1", 6, 6.0),
        ("q2", 2, 5.0),
    ]
    # up to cycle 1 only: p's week-12 score is nobody's week 0 then, so it stays p1's follow-up
    first = visit_frame(rows, max_cycle=1)
    assert sorted(zip(first["session_id"], first["weeks"], strict=True)) == [
        ("p1", 0),
        ("p1", 2),
        ("p1", 12),
        ("q1", 0),
        ("q1", 6),
    ]
    frame = long.assign(visit=long["weeks"])[["patient_id", "visit", "value"]]
    assert fit_trajectory(frame).n_observations == 7


@pytest.mark.parametrize(
    "patient",
    [
        np.array([5, 5, 7, -1, -1, 7, 5, 9, 10, 0, 100, 12, 3]),  # codes (-1: none), "10" before "5"
        np.array([2**40, 3, 3, -(2**40), 17]),  # too wide for flags: a hash
        np.array(["b", "a", "b", "c10", "c9"], dtype=object),
    ],
)
def test_groups__ranks_in_the_ids_text_order_by_flags_or_by_hash(patient: np.ndarray) -> None:
    from bontrack.analytics.trajectories import _groups

    n, index = _groups(pd.Series(patient))
    texts = np.asarray(patient).astype(str)
    distinct, expected = np.unique(texts, return_inverse=True)  # (the sums' order ever since)
    assert n == len(distinct)
    assert index.tolist() == expected.ravel().tolist()
