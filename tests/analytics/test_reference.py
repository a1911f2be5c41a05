"""Pooling matches metafor's published output to 4 decimals (sources in tests/reference/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bontrack.analytics.effect_sizes import EffectSize, log_odds_ratio, log_risk_ratio, smd
from bontrack.analytics.evidence import pool

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
BCG: dict[str, Any] = json.loads((REFERENCE / "metafor_bcg.json").read_text(encoding="utf-8"))
NORMAND: dict[str, Any] = json.loads((REFERENCE / "metafor_normand1999_smd.json").read_text(encoding="utf-8"))


def close(actual: float | None, expected: float, decimals: int = 4) -> bool:
    """Equal when rounded as the source printed it."""
    return actual is not None and abs(actual - expected) <= 0.5 * 10**-decimals + 1e-12


def bcg_effects(measure: str) -> list[EffectSize]:
    calc = log_risk_ratio if measure == "RR" else log_odds_ratio
    return [
        calc(s["study"], s["tpos"], s["tpos"] + s["tneg"], s["cpos"], s["cpos"] + s["cneg"])
        for s in BCG["studies"]
    ]


def normand_effects(rows: slice = slice(None)) -> list[EffectSize]:
    return [
        smd(s["study"], s["m1i"], s["sd1i"], s["n1i"], s["m2i"], s["sd2i"], s["n2i"])
        for s in NORMAND["studies"][rows]
    ]


def test_escalc_rr__matches_published_yi_vi() -> None:
    effects = bcg_effects("RR")
    assert all(close(e.yi, y) for e, y in zip(effects, BCG["escalc_rr_yi"], strict=True))
    assert all(close(e.vi, v) for e, v in zip(effects, BCG["escalc_rr_vi"], strict=True))


def test_bcg_rr_reml__matches_metafor() -> None:
    want = BCG["expected"]["RR_REML_z"]
    got = pool(bcg_effects("RR"), method="REML", measure="RR")
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "q"):
        assert close(getattr(got, field), want[field]), field
    assert close(got.z_or_t, want["z"])
    assert close(got.i2, want["i2_4dp"])


def test_bcg_rr_reml_hksj__matches_metafor_knha() -> None:
    want = BCG["expected"]["RR_REML_knha"]
    got = pool(bcg_effects("RR"), method="REML", hksj=True, measure="RR")
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "p"):
        assert close(getattr(got, field), want[field]), field
    assert close(got.z_or_t, want["t"]) and got.df == want["df"]
    assert close(got.i2, want["i2"], decimals=2)


@pytest.mark.parametrize("measure", ["RR", "OR"])
def test_bcg_dl__matches_metafor_and_stata_metan(measure: str) -> None:
    want = BCG["expected"][f"{measure}_DL_z"]
    got = pool(bcg_effects(measure), method="DL", measure=measure)
    out = got.to_dict()
    for field in ("estimate", "ci_low", "ci_high", "tau2", "i2", "exp_estimate", "exp_ci_low", "exp_ci_high"):
        assert close(out[field], want[field]), field
    assert close(got.z_or_t, want["z"])


def test_bcg_q__matches_metafor() -> None:
    assert close(pool(bcg_effects("RR")).q, BCG["expected"]["RR_FE_q"]["q"])
    assert close(pool(bcg_effects("OR"), method="DL").q, BCG["expected"]["OR_DL_z"]["q"])


def test_escalc_smd__matches_metafor_test() -> None:
    want = NORMAND["expected"]["escalc_smd_first4"]
    effects = normand_effects(slice(0, 4))
    assert all(close(e.yi, y) for e, y in zip(effects, want["yi"], strict=True))
    assert all(close(e.vi, v) for e, v in zip(effects, want["vi"], strict=True))


def test_smd_reml_first4__tau2_matches_metafor_test() -> None:
    got = pool(normand_effects(slice(0, 4)), method="REML", measure="SMD")
    assert close(got.tau2, NORMAND["expected"]["rma_smd_first4_reml"]["tau2"])


def test_smd_reml_all9__matches_published_metafor_model() -> None:
    want = NORMAND["expected"]["rma_smd_all9_reml"]
    effects = normand_effects()
    assert all(close(e.yi, y, decimals=6) for e, y in zip(effects, want["yi"], strict=True))
    got = pool(effects, method="REML", measure="SMD")
    for field in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
        assert close(getattr(got, field), want[field]), field
