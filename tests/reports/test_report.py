"""The clinic report, run as a user runs it, checked against an independent computation.

A synthetic clinic is built with a seed used nowhere else; its export (JSON Lines) is read here
with plain Python, and responders, Wilson intervals, mean change, adverse-event rates,
stop-and-review and the median duration of benefit are recomputed without bontrack's analytics.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight
from typer.testing import CliRunner

from bontrack.cli import app
from bontrack.knowledge.loader import load_knowledge

SEED = 31337  # not used while the report was written
runner = CliRunner()


def bontrack(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("clinic")
    url = f"sqlite:///{folder / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", "160", "--seed", str(SEED)).exit_code == 0
    assert bontrack("--db", url, "export", str(folder / "all.jsonl")).exit_code == 0
    return url, folder


@pytest.fixture(scope="module")
def report(clinic: tuple[str, Path]) -> dict[str, Any]:
    url, folder = clinic
    result = bontrack(
        "--db", url, "report", "--json", "--out", str(folder / "r.json"), "--date", "2026-11-23"
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((folder / "r.json").read_text())
    return data


# ---- the independent computation ---------------------------------------------------------------
def current(folder: Path) -> dict[str, list[dict[str, Any]]]:
    newest: dict[str, dict[str, Any]] = {}
    for line in (folder / "all.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] not in newest or rec["version"] > newest[rec["id"]]["version"]:
            newest[rec["id"]] = rec
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in newest.values():
        if not rec["withdrawn"]:
            by_type[rec["type"]].append({"id": rec["id"], **rec["data"]})
    return by_type


def wilson(k: int, n: int) -> tuple[float, float, float]:
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, centre - half, centre + half


class Cycles:
    """Per session: baseline NPRS, follow-ups by week, from raw answers (not bontrack's scores)."""

    def __init__(self, recs: dict[str, list[dict[str, Any]]]) -> None:
        nprs = [o for o in recs["outcome"] if o["instrument"] == "nprs"]
        self.sessions = sorted(recs["injection_session"], key=lambda s: (s["patient_id"], s["date"], s["id"]))
        self.baseline: dict[str, float | None] = {}
        for s in self.sessions:
            before = [o for o in nprs if o["patient_id"] == s["patient_id"] and o["date"] <= s["date"]]
            last = max(before, key=lambda o: o["date"], default=None)
            self.baseline[s["id"]] = float(last["answers"]["1"]) if last else None
        self.follow: dict[str, dict[int, tuple[str, float]]] = defaultdict(dict)
        for o in nprs:
            if o.get("session_id"):
                self.follow[o["session_id"]][o["weeks_after_session"]] = (o["date"], float(o["answers"]["1"]))

    def responder(self, sid: str, week: int, percent: float) -> bool | None:
        b = self.baseline[sid]
        if b is None or b <= 0 or week not in self.follow[sid]:
            return None
        return (b - self.follow[sid][week][1]) * 100 >= percent * b - 1e-9


def test_report__responders_and_wilson_interval_match_an_independent_count(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    pct = load_knowledge().files.outcomes.responder_thresholds.moderate_percent.value
    for week in (2, 6, 12):
        judged = [cycles.responder(s["id"], week, pct) for s in cycles.sessions]
        flags = [j for j in judged if j is not None]
        rate, low, high = wilson(sum(flags), len(flags))
        row = next(
            r for r in report["responders"] if r["weeks"] == week and r["label"].startswith("Pain (NPRS)")
        )
        assert (row["n"], row["responders"]) == (len(flags), sum(flags))
        assert row["rate"] == pytest.approx(rate, abs=1e-12)
        assert row["low"] == pytest.approx(low, abs=1e-12) and row["high"] == pytest.approx(high, abs=1e-12)


def test_report__mean_change_matches_a_t_interval_computed_here(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    improvement = [
        cycles.baseline[s["id"]] - cycles.follow[s["id"]][6][1]  # type: ignore[operator]
        for s in cycles.sessions
        if cycles.baseline[s["id"]] is not None and 6 in cycles.follow[s["id"]]
    ]
    mean, sd, n = statistics.fmean(improvement), statistics.stdev(improvement), len(improvement)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    row = next(r for r in report["changes"] if r["weeks"] == 6 and r["label"].startswith("Pain"))
    assert row["n"] == n
    assert row["mean"] == pytest.approx(mean, abs=1e-12)
    assert (row["low"], row["high"]) == (
        pytest.approx(mean - half, abs=1e-9),
        pytest.approx(mean + half, abs=1e-9),
    )


def test_report__adverse_events_per_cycle(clinic: tuple[str, Path], report: dict[str, Any]) -> None:
    recs = current(clinic[1])
    with_event = {e["session_id"] for e in recs["adverse_event"]}
    n = len(recs["injection_session"])
    rate, low, high = wilson(len(with_event), n)
    row = next(r for r in report["adverse_events"] if r["event"] == "any")
    assert (row["cycles"], row["n_cycles"]) == (len(with_event), n)
    assert (row["rate"], row["low"], row["high"]) == (
        pytest.approx(rate, abs=1e-12),
        pytest.approx(low, abs=1e-12),
        pytest.approx(high, abs=1e-12),
    )


def test_report__stop_and_review_lists_the_same_patients(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    cycles = Cycles(recs)
    kb = load_knowledge().files
    pct = kb.outcomes.responder_thresholds.moderate_percent.value
    needed = int(kb.pathway.stop_review_cycles_without_response.value)
    numbers = {p["id"]: p["record_number"] for p in recs["patient"]}
    # every session is a cycle; an unjudged one (None) among the latest breaks the run
    judged: dict[str, list[bool | None]] = defaultdict(list)
    for s in cycles.sessions:
        flags = [cycles.responder(s["id"], w, pct) for w in sorted(cycles.follow[s["id"]])]
        known = [f for f in flags if f is not None]
        judged[s["patient_id"]].append(any(known) if known else None)
    expected = sorted(
        numbers[p]
        for p, flags in judged.items()
        if len(flags) >= needed and all(f is False for f in flags[-needed:])
    )
    assert expected, "the synthetic clinic should have patients due for review"
    assert [r["record_number"] for r in report["stop_and_review"]] == expected


def test_report__median_duration_of_benefit_agrees_with_statsmodels(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    mcid = load_knowledge().files.outcomes.mcid["nprs"]["pain_intensity"].value
    assert mcid is not None
    nxt: dict[str, str | None] = {}
    for a, b in zip(cycles.sessions, [*cycles.sessions[1:], None], strict=True):
        nxt[a["id"]] = b["date"] if b is not None and b["patient_id"] == a["patient_id"] else None
    days, lost = [], []
    for s in cycles.sessions:
        base = cycles.baseline[s["id"]]
        visits = sorted(cycles.follow[s["id"]].values())
        if base is None or not visits:
            continue
        better = [base - v >= mcid - 1e-9 for _, v in visits]
        if not any(better):
            continue
        first = better.index(True)
        loss = next(
            (d for (d, _), ok in zip(visits[first + 1 :], better[first + 1 :], strict=True) if not ok), None
        )
        ends = [d for d in (loss, nxt[s["id"]]) if d is not None]
        end = min(ends) if ends else visits[-1][0]
        days.append((date.fromisoformat(end) - date.fromisoformat(s["date"])).days)
        lost.append(1 if ends else 0)
    d = report["duration"]
    assert (d["cycles_with_benefit"], d["events"]) == (len(days), sum(lost))
    median = SurvfuncRight(days, lost).quantile(0.5)
    assert d["median_days"] == pytest.approx(float(median))


def test_report__html_and_pdf_as_a_user_runs_them(clinic: tuple[str, Path]) -> None:
    url, folder = clinic
    html_path, pdf_path = folder / "report.html", folder / "report.pdf"
    assert bontrack("--db", url, "report", "--out", str(html_path)).exit_code == 0
    html = html_path.read_text()
    for heading in (
        "How many improve",
        "How long it lasts",
        "Trajectories",
        "RAND-36",
        "Side effects",
        "Better than needling alone",
        "stop-and-review",
        "Comparisons inside the clinic",
    ):
        assert heading in html
    assert html.count("data:image/png;base64,") == 6  # every figure drawn and embedded
    assert bontrack("--db", url, "report", "--pdf", "--out", str(pdf_path)).exit_code == 0
    assert pdf_path.read_bytes()[:5] == b"%PDF-" and pdf_path.stat().st_size > 50_000


def test_report__every_read_is_audited(clinic: tuple[str, Path]) -> None:
    url, folder = clinic
    assert (
        bontrack(
            "--db",
            url,
            "--actor",
            "director@example.org",
            "report",
            "--json",
            "--out",
            str(folder / "a.json"),
        ).exit_code
        == 0
    )
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as c:
        rows = c.execute(
            text("select record_type from audit_log where actor = 'director@example.org' and action = 'read'")
        ).all()
    assert {r[0] for r in rows} >= {"patient", "injection_session", "outcome", "adverse_event"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--date", "23/11/2026"], "--date"),
        (["--pdf", "--json"], "--pdf"),
        (["--out", "/no/such/folder/r.html"], "--out"),
    ],
)
def test_report__bad_options_exit_2_naming_the_option(tmp_path: Path, args: list[str], field: str) -> None:
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "report", *args])
    assert result.exit_code == 2
    assert field in result.output
    assert not (tmp_path / "x.db").exists()  # nothing created


def test_report__empty_registry_says_there_is_nothing_to_report(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = bontrack("--db", f"sqlite:///{tmp_path / 'empty.db'}", "report", "--out", str(out))
    assert result.exit_code == 0
    assert "holds no injection sessions yet" in out.read_text()


def test_report__time_is_not_read_from_the_clock(clinic: tuple[str, Path]) -> None:
    url, folder = clinic
    for name in ("one", "two"):
        assert (
            bontrack(
                "--db", url, "report", "--json", "--date", "2026-11-23", "--out", str(folder / f"{name}.json")
            ).exit_code
            == 0
        )
    assert (folder / "one.json").read_text() == (folder / "two.json").read_text()
    assert json.loads((folder / "one.json").read_text())["generated_on"] == "2026-11-23"
