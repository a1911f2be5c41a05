"""knowledge/evidence_trials.toml: every number has a readable public source and says where."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from bontrack.analytics.evidence_csv import EVENTS, MEANS
from bontrack.analytics.trials import effect_of, load_trials


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("bontrack.knowledge").joinpath(name).read_text(encoding="utf-8"))


TRIALS = _toml("evidence_trials.toml")
SOURCES = _toml("sources.toml")["sources"]
ROWS = TRIALS["trials"]


def test_loads_and_every_source_is_a_public_address() -> None:
    trials = load_trials()
    cited = {r["source"] for r in ROWS} | {a for r in ROWS for a in r.get("also", [])}
    cited |= {c["source"] for c in TRIALS["checks"].values()}
    cited |= {a for c in TRIALS["checks"].values() for a in c.get("also", [])}
    for source in cited:
        url = trials.url(source)
        assert url.startswith(("http://", "https://")), (source, url)


@pytest.mark.parametrize("r", [r for r in ROWS if r["verified"]], ids=lambda r: r["id"])
def test_verified_rows__complete_numbers_read_at_the_source(r: dict[str, Any]) -> None:
    assert effect_of(r) is not None  # means, events, yi,vi or yi with its 95% CI
    assert "exclude" not in r
    assert "REFERENCE.md" not in r["where"] and r["where"].strip() and r["note"].strip()
    if all(k in r for k in MEANS) or all(k in r for k in EVENTS):
        for arm in ("treat", "ctrl"):
            assert r[f"n_{arm}"] >= 1 and (r.get(f"events_{arm}", 0) <= r[f"n_{arm}"])
    else:  # an effect size read in a review's table says so
        assert r.get("verified_in") == "review table" and r.get("measure")


@pytest.mark.parametrize("r", [r for r in ROWS if not r["verified"]], ids=lambda r: r["id"])
def test_unverified_rows__say_what_is_missing(r: dict[str, Any]) -> None:
    assert len(r["note"]) > 20 and r["where"].strip()


def test_checks__an_unverified_review_carries_no_estimate() -> None:
    for key, c in TRIALS["checks"].items():
        if not c["verified"]:
            assert "estimate" not in c, key
