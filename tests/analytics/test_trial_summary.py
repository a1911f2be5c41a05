"""The curated evidence summary: which trials are pooled, how, and what stands beside them.

The pooled path (REML + Hartung-Knapp-Sidik-Jonkman) is checked end to end against metafor's
published ``rma(test="knha")`` output for the BCG trials (tests/reference/metafor_bcg.json), fed
through the same curated-row form the knowledge file uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bontrack.analytics.trials import (
    TrialDataError,
    build_trials,
    load_trials,
    summarize,
    summarize_all,
    trials_csv,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
BCG: dict[str, Any] = json.loads((REFERENCE / "metafor_bcg.json").read_text(encoding="utf-8"))
SOURCES = {"s": {"title": "a source", "url": "https://example.org/s"}}


def row(study: str, **numbers: Any) -> dict[str, Any]:
    base = {"id": study.lower().replace(" ", "_"), "study": study, "outcome": "o", "verified": True}
    return base | {"source": "s", "where": "table 2", "note": "read"} | numbers


def trials_of(*rows: dict[str, Any], checks: dict[str, Any] | None = None) -> Any:
    data = {"outcomes": {"o": {"title": "An outcome"}}, "trials": list(rows), "checks": checks or {}}
    return build_trials(data, SOURCES)


def close(actual: float, expected: float, decimals: int = 4) -> bool:
    return abs(actual - expected) <= 0.5 * 10**-decimals + 1e-12


def test_summary__bcg_through_curated_rows_matches_metafor_knha() -> None:
    rows = [
        row(
            s["study"],
            events_treat=s["tpos"],
            n_treat=s["tpos"] + s["tneg"],
            events_ctrl=s["cpos"],
            n_ctrl=s["cpos"] + s["cneg"],
        )
        for s in BCG["studies"]
    ]
    got = summarize(trials_of(*rows), "o")
    want = BCG["expected"]["RR_REML_knha"]
    assert got.k == 13 and got.measure == "RR" and got.result is not None
    r = got.result
    assert r.hksj and r.method == "REML" and r.df == want["df"]
    for name in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        assert close(getattr(r, name), want[name]), name
    assert close(r.z_or_t, want["t"]) and close(r.p, want["p"])
    assert "Hartung-Knapp" in got.method and "12 df" in got.method
    assert got.shown() == "RR 0.49 (95% CI 0.33 to 0.73)"


def test_summary__one_trial_is_shown_as_itself_not_pooled() -> None:
    got = summarize(
        trials_of(row("A", mean_treat=3.0, sd_treat=2.0, n_treat=20, mean_ctrl=4.0, sd_ctrl=2.0, n_ctrl=20)),
        "o",
    )
    assert got.k == 1 and got.result is not None and not got.result.hksj
    assert got.result.tau2 == 0 and "nothing to pool" in got.method
    assert got.measure == "SMD" and got.result.estimate < 0  # lower pain under toxin


def test_summary__unverified_excluded_and_numberless_rows_are_listed_with_why() -> None:
    rows = [
        row("Verified", events_treat=5, n_treat=10, events_ctrl=3, n_ctrl=10),
        row("Unverified", verified=False, events_treat=9, n_treat=10, events_ctrl=1, n_ctrl=10),
        row("Elsewhere", verified=False, exclude="another region"),
        row("Percent only", percent_treat=50, percent_ctrl=20),
    ]
    got = summarize(trials_of(*rows), "o")
    assert got.studies == ("Verified",)
    why = {n.study: n.status for n in got.not_pooled}
    assert why == {
        "Unverified": "not verified",
        "Elsewhere": "outside the question",
        "Percent only": "no poolable numbers",
    }


def test_summary__nothing_verified_gives_no_result() -> None:
    got = summarize(trials_of(row("A", verified=False)), "o")
    assert got.result is None and got.k == 0 and got.shown() == ""
    assert json.loads(json.dumps(got.to_dict()))["result"] is None


def test_summary__published_estimate_shows_numbers_only_when_verified() -> None:
    checks = {
        "read": {"what": "Review A", "outcome": "o", "verified": True, "measure": "SMD", "k": 5,
                 "participants": 252, "estimate": -0.07, "ci_low": -0.36, "ci_high": 0.21,
                 "source": "s", "where": "abstract", "note": "read"},
        "unread": {"what": "Review B", "outcome": "o", "verified": False, "measure": "SMD",
                   "estimate": -9.0, "source": "s", "where": "abstract", "note": "copy ends early"},
    }  # fmt: skip
    got = summarize(trials_of(row("A", verified=False), checks=checks), "o")
    shown = {p.what: p.shown() for p in got.published}
    assert shown["Review A"] == "SMD -0.07 (95% CI -0.36 to 0.21; 5 trials, 252 participants)"
    assert shown["Review B"] == "pooled estimate not read at the source"
    assert all(p.url == "https://example.org/s" for p in got.published)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"source": "nowhere"}, "unknown source 'nowhere'"),
        ({"also": ["s", "nowhere"]}, "unknown source 'nowhere'"),
        ({"outcome": "other"}, "unknown outcome 'other'"),
        ({"exclude": "not placebo-controlled"}, "set verified = false"),
        ({"verified_in": "memory"}, "verified_in must be one of"),
    ],
)
def test_build__inconsistent_rows_are_refused(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(TrialDataError, match=message):
        trials_of(row("A") | bad)


def test_build__a_verified_check_needs_its_numbers() -> None:
    check = {"what": "R", "outcome": "o", "verified": True, "source": "s", "where": "w", "note": "n"}
    with pytest.raises(TrialDataError, match="needs measure, k, estimate"):
        trials_of(row("A"), checks={"c": check})


def test_summary__mixed_measures_in_one_outcome_are_refused() -> None:
    rows = [
        row("A", events_treat=5, n_treat=10, events_ctrl=3, n_ctrl=10),
        row("B", mean_treat=3.0, sd_treat=2.0, n_treat=20, mean_ctrl=4.0, sd_ctrl=2.0, n_ctrl=20),
    ]
    with pytest.raises(TrialDataError, match="mixes measures"):
        summarize(trials_of(*rows), "o")


# ---- the curated file itself --------------------------------------------------------------------
LEADS = (
    "Wheeler 1998", "Wheeler 2001", "Ferrante 2005", "Ojala 2006", "Lew 2008", "Gobel 2006",
    "Qerama 2006", "Graboski 2005", "Kamanli 2005", "Benecke 2011", "Nicol 2014", "Davis 2011",
    "Miller 2009",
)  # fmt: skip


def test_curated__every_lead_is_on_record() -> None:
    studies = {r["study"] for r in load_trials().rows}
    assert set(LEADS) <= studies


def test_curated__pain_and_responders_as_verified_today() -> None:
    by = {s.outcome: s for s in summarize_all(load_trials())}
    pain, responders = by["pain_4wk"], by["responders_wk5"]
    assert pain.studies == ("Ojala 2006",) and pain.measure == "SMD"
    assert pain.shown() == "SMD 0.00 (95% CI -0.50 to 0.50)"
    assert responders.studies == ("Benecke 2011",) and responders.shown() == "RR 1.30 (95% CI 0.89 to 1.89)"
    cochrane = [p for p in pain.published if "Langevin 2011, CD008626" in p.what]
    assert cochrane and cochrane[0].verified and cochrane[0].estimate == -0.07
    soares = [p for p in pain.published if "Soares 2014" in p.what]
    assert soares and not soares[0].verified and soares[0].estimate is None


def test_trials_csv__unverified_rows_only_when_asked_and_excluded_never() -> None:
    rows = [
        row("Verified", events_treat=5, n_treat=10, events_ctrl=3, n_ctrl=10),
        row("Unverified", verified=False, events_treat=9, n_treat=10, events_ctrl=1, n_ctrl=10),
        row("Other", verified=False, exclude="not placebo-controlled", events_treat=1, n_treat=9,
            events_ctrl=1, n_ctrl=9),
    ]  # fmt: skip
    trials = trials_of(*rows)
    assert "Unverified" not in trials_csv(trials, outcome="o")
    everything = trials_csv(trials, outcome="o", include_unverified=True)
    assert "Unverified" in everything and "Other" not in everything


def test_summary__a_number_read_in_a_review_table_is_labelled_so() -> None:
    rows = [
        row("A", events_treat=5, n_treat=10, events_ctrl=3, n_ctrl=10),
        row("B", verified_in="review table", events_treat=6, n_treat=10, events_ctrl=3, n_ctrl=10),
    ]
    got = summarize(trials_of(*rows), "o")
    assert got.labelled() == ["A", "B (review table)"] and got.to_dict()["read_in"][1] == "review table"
