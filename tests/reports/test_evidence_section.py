"""Section 7 of the clinic report, as a user gets it: the placebo-controlled evidence, its k, the
method, tau^2, the reviews beside it and the trials not pooled (HTML and JSON agree)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from bontrack.analytics.trials import load_trials, summarize
from bontrack.cli import app

runner = CliRunner()
SEED = 9107  # used nowhere else


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("evidence")
    url = f"sqlite:///{folder / 'clinic.db'}"
    assert runner.invoke(app, ["--db", url, "demo", "--patients", "30", "--seed", str(SEED)]).exit_code == 0
    for args in (["--out", str(folder / "r.html")], ["--json", "--out", str(folder / "r.json")]):
        result = runner.invoke(app, ["--db", url, "report", "--date", "2026-11-23", *args])
        assert result.exit_code == 0, result.output
    page = (folder / "r.html").read_text(encoding="utf-8")
    start = page.index("<h2>7.")
    section = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[start : page.index("<h2>8.")])))
    return section, json.loads((folder / "r.json").read_text(encoding="utf-8"))


def test_section__states_k_trials_interval_and_method(rendered: tuple[str, dict[str, Any]]) -> None:
    section, _ = rendered
    pain = summarize(load_trials(), "pain_4wk")
    assert f"k = {pain.k}: {', '.join(pain.studies)}" in section
    assert pain.shown() in section and "Hartung-Knapp-Sidik-Jonkman" in section
    assert "not estimated (1 trial)" in section  # tau^2 of a single trial is not shown as 0
    assert "nan" not in section.lower() and "None" not in section


def test_section__sets_the_reviews_beside_it_and_says_what_was_not_read(
    rendered: tuple[str, dict[str, Any]],
) -> None:
    section, _ = rendered
    assert "Beside it, Cochrane review (Langevin 2011, CD008626)" in section
    assert "SMD -0.07 (95% CI -0.36 to 0.21; 5 trials, 252 participants)" in section
    assert "Soares 2014" in section and "pooled estimate not read at the source" in section
    assert "Ferrante 2005 (not verified)" in section
    assert "Graboski 2005 (outside the question: not placebo-controlled" in section


def test_json__carries_the_numbers_that_make_each_estimate(rendered: tuple[str, dict[str, Any]]) -> None:
    _, report = rendered
    pooled = {p["outcome"]: p for p in report["evidence"]["pooled"]}
    for outcome, p in pooled.items():
        s = summarize(load_trials(), outcome)
        assert p["k"] == s.k == len(p["yi"]) == len(p["vi"]) and p["studies"] == s.labelled()
        assert p["method"] == s.method and p["shown"] == s.shown()
        assert all(n["status"] and n["url"].startswith("http") for n in p["not_pooled"])
    assert set(pooled) == {"pain_4wk", "responders_wk5", "disability"}
    assert pooled["disability"]["studies"] == ["Wheeler 2001 (review table)"]
