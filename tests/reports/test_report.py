"""The clinic report, run as a user runs it, checked against an independent computation.

A synthetic clinic is built with a seed used nowhere else; corrections and withdrawals are added
to its export as new versions and imported into a second registry, whose export (JSON Lines) is
read here with plain Python. Every figure below is recomputed from it by the README's definitions
without bontrack's analytics: as of the report date, completeness of due visits, responders
(first cycles: Wilson; all cycles: Wilson with the patient-clustered n_eff), mean change (t and
cluster-robust t), adverse events over sessions at least 42 days old, stop-and-review by the
week-6-else-12 rule, the duration of benefit (censored at re-injection) and the trajectories'
count of distinct scores.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import statistics
import unicodedata
import uuid
from collections import Counter, defaultdict
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
AS_OF = "2026-08-31"  # the demo clinic runs on past this date: later records exist
WEEKS = (2, 6, 12)
Z = 1.959963984540054
runner = CliRunner()
KB = load_knowledge().files


def bontrack(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _corrected(lines: list[str]) -> list[str]:
    """The export with new versions: NPRS scores corrected, outcomes, sessions, events withdrawn."""
    recs = [json.loads(line) for line in lines]
    out = list(lines)

    def again(rec: dict[str, Any], **change: Any) -> None:
        new = copy.deepcopy(rec)
        new.update(version=rec["version"] + 1, reason="correction for the test", **change)
        recorded = dt.datetime.fromisoformat(rec["recorded_at"]) + dt.timedelta(days=1)
        new["recorded_at"] = recorded.isoformat()
        out.append(json.dumps(new, sort_keys=True, separators=(",", ":")))

    nprs = sorted(
        (r for r in recs if r["type"] == "outcome" and r["data"]["instrument"] == "nprs"),
        key=lambda r: r["id"],
    )
    for i, rec in enumerate(nprs):
        if i % 7 == 3:  # a transcription error corrected: the score changes
            data = copy.deepcopy(rec["data"])
            value = (int(data["answers"]["1"]) + 3) % 11
            data["answers"]["1"] = value
            data["scoring"]["scores"]["pain_intensity"] = float(value)
            again(rec, data=data)
        elif i % 17 == 5:
            again(rec, withdrawn=True)
    for kind, every in (("injection_session", 40), ("adverse_event", 6)):
        for i, rec in enumerate(sorted((r for r in recs if r["type"] == kind), key=lambda r: r["id"])):
            if i % every == 1:
                again(rec, withdrawn=True)
    # events as people type them, beside the demo's (QA finding: one event split into rows), and
    # serious ones: a copy of every fifth event, on the same session, written another way
    spellings = (
        lambda e: e.upper() + " ",
        lambda e: e.title(),
        lambda e: "\u00a0" + e.replace(" ", "\t"),
        lambda e: "difficulty  Swallowing" if e == "dysphagia" else e.capitalize(),
    )
    events = sorted((r for r in recs if r["type"] == "adverse_event"), key=lambda r: r["id"])
    for i, rec in enumerate(events[::5]):
        new = copy.deepcopy(rec)
        new["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, rec["id"] + "/spelt"))
        new["data"]["event"] = spellings[i % len(spellings)](rec["data"]["event"])
        new["data"]["serious"] = i % 3 == 0
        out.append(json.dumps(new, sort_keys=True, separators=(",", ":")))
    return out


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("clinic")
    first = f"sqlite:///{folder / 'first.db'}"
    assert bontrack("--db", first, "demo", "--patients", "160", "--seed", str(SEED)).exit_code == 0
    assert bontrack("--db", first, "export", str(folder / "first.jsonl")).exit_code == 0
    lines = (folder / "first.jsonl").read_text().splitlines()
    (folder / "corrected.jsonl").write_text("\n".join(_corrected(lines)) + "\n")
    url = f"sqlite:///{folder / 'clinic.db'}"
    result = bontrack("--db", url, "import", str(folder / "corrected.jsonl"))
    assert result.exit_code == 0, result.output
    assert bontrack("--db", url, "export", str(folder / "all.jsonl")).exit_code == 0
    return url, folder


@pytest.fixture(scope="module")
def report(clinic: tuple[str, Path]) -> dict[str, Any]:
    url, folder = clinic
    result = bontrack("--db", url, "report", "--json", "--out", str(folder / "r.json"), "--date", AS_OF)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((folder / "r.json").read_text())
    return data


# ---- the independent computation ---------------------------------------------------------------
def newest(folder: Path, name: str = "all.jsonl") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in (folder / name).read_text().splitlines():
        rec = json.loads(line)
        if rec["id"] not in out or rec["version"] > out[rec["id"]]["version"]:
            out[rec["id"]] = rec
    return out


def current(folder: Path, day: str = AS_OF) -> dict[str, list[dict[str, Any]]]:
    """Current, not withdrawn, and as of ``day``: sessions and outcomes by date, adverse events by
    the date reported (of a kept session), patients with a session or an outcome by then."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in newest(folder).values():
        if not rec["withdrawn"]:
            by_type[rec["type"]].append({"id": rec["id"], **rec["data"]})
    by_type["injection_session"] = [s for s in by_type["injection_session"] if s["date"] <= day]
    by_type["outcome"] = [o for o in by_type["outcome"] if o["date"] <= day]
    kept = {s["id"] for s in by_type["injection_session"]}
    by_type["adverse_event"] = [
        e for e in by_type["adverse_event"] if e["reported_date"] <= day and e["session_id"] in kept
    ]
    seen = {r["patient_id"] for r in by_type["injection_session"] + by_type["outcome"]}
    by_type["patient"] = [p for p in by_type["patient"] if p["id"] in seen]
    return by_type


def wilson(k: float, n: float) -> tuple[float, float, float]:
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return p, (0.0 if p == 0 else centre - half), (1.0 if p == 1 else centre + half)


def clustered(pairs: list[tuple[int, int]]) -> tuple[float, float, float, float]:
    """(rate, low, high, n_eff) for (responders, judged) per patient, as the issue defines it."""
    k, n = len(pairs), sum(m for _, m in pairs)
    p = sum(y for y, _ in pairs) / n
    v = k / (k - 1) * sum((y - p * m) ** 2 for y, m in pairs) / n**2
    n_eff = n if v == 0 or p in (0, 1) else min(n, p * (1 - p) / v)
    _, low, high = wilson(p * n_eff, n_eff)
    return p, low, high, n_eff


class Cycles:
    """Per session: cycle number, baseline NPRS, follow-ups by week, from raw answers."""

    def __init__(self, recs: dict[str, list[dict[str, Any]]]) -> None:
        nprs = [o for o in recs["outcome"] if o["instrument"] == "nprs"]
        self.sessions = sorted(recs["injection_session"], key=lambda s: (s["patient_id"], s["date"], s["id"]))
        self.cycle: dict[str, int] = {}
        self.next: dict[str, str | None] = {}
        for i, s in enumerate(self.sessions):
            before = self.sessions[i - 1] if i else None
            same = before is not None and before["patient_id"] == s["patient_id"]
            self.cycle[s["id"]] = self.cycle[before["id"]] + 1 if same and before else 1
            after = self.sessions[i + 1] if i + 1 < len(self.sessions) else None
            self.next[s["id"]] = after["date"] if after and after["patient_id"] == s["patient_id"] else None
        self.baseline: dict[str, tuple[str, float] | None] = {}  # (outcome id, value)
        for s in self.sessions:
            before = [o for o in nprs if o["patient_id"] == s["patient_id"] and o["date"] <= s["date"]]
            last = max(before, key=lambda o: (o["date"], o["id"]), default=None)
            self.baseline[s["id"]] = (last["id"], float(last["answers"]["1"])) if last else None
        self.follow: dict[str, dict[int, tuple[str, float, str]]] = defaultdict(dict)  # date, value, id
        ids = {s["id"] for s in self.sessions}
        for o in nprs:
            if o.get("session_id") in ids:
                self.follow[o["session_id"]][o["weeks_after_session"]] = (
                    o["date"],
                    float(o["answers"]["1"]),
                    o["id"],
                )

    def base(self, sid: str) -> float | None:
        b = self.baseline[sid]
        return None if b is None else b[1]

    def responder(self, sid: str, week: int, percent: float) -> bool | None:
        b = self.base(sid)
        if b is None or b <= 0 or week not in self.follow[sid]:
            return None
        return (b - self.follow[sid][week][1]) * 100 >= percent * b - 1e-9

    def responded(self, sid: str) -> bool | None:
        """The pathway's rule: week 6, else week 12; never week 2 alone."""
        for week in (6, 12):
            if week in self.follow[sid]:
                return self.responder(sid, week, KB.pathway.cycle_response.min_improvement_percent)
        return None


def row(report: dict[str, Any], section: str, week: int, scope: str, label: str = "Pain") -> dict[str, Any]:
    return next(
        r
        for r in report[section]
        if r["weeks"] == week and r["scope"] == scope and r["label"].startswith(label)
    )


def test_report__says_as_of_and_counts_only_records_up_to_the_date(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    later = [
        s
        for s in newest(clinic[1]).values()
        if s["type"] == "injection_session" and s["data"]["date"] > AS_OF
    ]
    assert later, "the clinic has sessions after the report date"
    assert report["generated_on"] == AS_OF
    s = report["summary"]
    assert (s["patients"], s["sessions"]) == (len(recs["patient"]), len(recs["injection_session"]))
    assert s["last_session"] <= AS_OF


def test_report__completeness_is_scored_visits_over_visits_due(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    day = date.fromisoformat(AS_OF)
    due = {
        (s["id"], w)
        for s in recs["injection_session"]
        for w in WEEKS
        if date.fromisoformat(s["date"]) + dt.timedelta(weeks=w) <= day
    }
    scored = {
        (o["session_id"], o["weeks_after_session"])
        for o in recs["outcome"]
        if o["instrument"] == "nprs" and o.get("session_id")
    }
    s = report["summary"]
    assert (s["outcome_visits_with_pain_score"], s["outcome_visits_due"]) == (len(scored & due), len(due))
    assert s["outcome_visits_not_yet_due"] == len(recs["injection_session"]) * len(WEEKS) - len(due)
    assert s["outcome_visits_not_yet_due"] > 0


def test_report__responders_first_cycles_wilson_and_all_cycles_clustered(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    pct = KB.outcomes.responder_thresholds.moderate_percent.value
    for week in WEEKS:
        flags = [
            (s["patient_id"], cycles.cycle[s["id"]], f)
            for s in cycles.sessions
            if (f := cycles.responder(s["id"], week, pct)) is not None
        ]
        first = [f for _, c, f in flags if c == 1]
        r = row(report, "responders", week, "first cycles")
        assert (r["n"], r["responders"], r["k"]) == (len(first), sum(first), len(first))
        rate, low, high = wilson(sum(first), len(first))
        assert (r["rate"], r["low"], r["high"]) == (
            pytest.approx(rate, abs=1e-12),
            pytest.approx(low, abs=1e-12),
            pytest.approx(high, abs=1e-12),
        )
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for patient, _, f in flags:
            per[patient][0] += int(f)
            per[patient][1] += 1
        rate, low, high, n_eff = clustered([(y, m) for y, m in per.values()])
        r = row(report, "responders", week, "all cycles")
        assert (r["n"], r["k"]) == (len(flags), len(per))
        assert (r["rate"], r["low"], r["high"], r["n_eff"]) == (
            pytest.approx(rate, abs=1e-12),
            pytest.approx(low, abs=1e-12),
            pytest.approx(high, abs=1e-12),
            pytest.approx(n_eff, abs=1e-9),
        )


def test_report__mean_change_t_for_first_cycles_cluster_robust_for_all(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    pairs = [
        (s["patient_id"], cycles.cycle[s["id"]], b - cycles.follow[s["id"]][6][1])
        for s in cycles.sessions
        if (b := cycles.base(s["id"])) is not None and 6 in cycles.follow[s["id"]]
    ]
    first = [x for _, c, x in pairs if c == 1]
    mean, sd, n = statistics.fmean(first), statistics.stdev(first), len(first)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    r = row(report, "changes", 6, "first cycles")
    assert (r["n"], r["mean"]) == (n, pytest.approx(mean, abs=1e-12))
    assert (r["low"], r["high"]) == (
        pytest.approx(mean - half, abs=1e-9),
        pytest.approx(mean + half, abs=1e-9),
    )
    everyone = [x for _, _, x in pairs]
    mean = statistics.fmean(everyone)
    sums: dict[str, float] = defaultdict(float)
    for patient, _, x in pairs:
        sums[patient] += x - mean
    k, n = len(sums), len(everyone)
    se = math.sqrt(k / (k - 1) * sum(v * v for v in sums.values()) / n**2)
    half = stats.t.ppf(0.975, k - 1) * se
    r = row(report, "changes", 6, "all cycles")
    assert (r["n"], r["k"], r["mean"]) == (n, k, pytest.approx(mean, abs=1e-12))
    assert (r["low"], r["high"]) == (
        pytest.approx(mean - half, abs=1e-9),
        pytest.approx(mean + half, abs=1e-9),
    )


def test_report__adverse_events_per_session_over_sessions_at_least_42_days_old(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    cutoff = (date.fromisoformat(AS_OF) - dt.timedelta(days=42)).isoformat()
    rated = [s for s in recs["injection_session"] if s["date"] <= cutoff]
    with_event = {e["session_id"] for e in recs["adverse_event"]}
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in rated:
        per[s["patient_id"]][0] += int(s["id"] in with_event)
        per[s["patient_id"]][1] += 1
    rate, low, high, n_eff = clustered([(y, m) for y, m in per.values()])
    r = next(x for x in report["adverse_events"] if x["event"] == "any")
    assert (r["cycles"], r["n_cycles"], r["k"]) == (sum(y for y, _ in per.values()), len(rated), len(per))
    assert (r["rate"], r["low"], r["high"], r["n_eff"]) == (
        pytest.approx(rate, abs=1e-12),
        pytest.approx(low, abs=1e-12),
        pytest.approx(high, abs=1e-12),
        pytest.approx(n_eff, abs=1e-9),
    )
    s = report["summary"]
    assert s["sessions_too_recent_for_adverse_events"] == len(recs["injection_session"]) - len(rated) > 0


def one_event(text: str) -> str:
    """The README's rule, written here again: NFKC, case folded, NFKC, white space as one space."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def test_report__an_event_written_in_several_ways_is_one_row(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    cutoff = (date.fromisoformat(AS_OF) - dt.timedelta(days=42)).isoformat()
    rated = [s for s in recs["injection_session"] if s["date"] <= cutoff]
    patient_of = {s["id"]: s["patient_id"] for s in rated}
    # the knowledge base's reactions and their other names, read from its file
    known = {one_event(t): t for label in KB.label_adverse_reactions.values() for t in label.percent}
    known |= {one_event(a): name for name, many in KB.adverse_event_aliases.items() for a in many}
    sessions: dict[str, set[str]] = defaultdict(set)
    forms: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in recs["adverse_event"]:
        if e["session_id"] in patient_of:
            key = one_event(known.get(one_event(e["event"]), e["event"]))
            sessions[key].add(e["session_id"])
            forms[key][" ".join(e["event"].split())] += 1
    assert any(len(f) > 1 for f in forms.values())  # spelt in more than one way
    rows = [x for x in report["adverse_events"] if x["event"] != "any"]
    assert [one_event(x["event"]) for x in rows] == sorted(sessions)
    # the label of the product most rated sessions used (the one the rows are set beside)
    counts = sorted(Counter(s["product"] for s in rated).items(), key=lambda kv: -kv[1])
    assert len(counts) == 1 or counts[0][1] > counts[1][1]
    label = KB.label_adverse_reactions.get(counts[0][0])
    for x, key in zip(rows, sorted(sessions), strict=True):
        name = known.get(key) or min(forms[key], key=lambda f, k=key: (-forms[k][f], f))
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for s in rated:
            per[s["patient_id"]][0] += int(s["id"] in sessions[key])
            per[s["patient_id"]][1] += 1
        rate, low, high, n_eff = clustered(list(map(tuple, per.values())))  # type: ignore[arg-type]
        assert (x["event"], x["cycles"], x["n_cycles"]) == (name, len(sessions[key]), len(rated))
        assert (x["rate"], x["low"], x["high"], x["n_eff"]) == (
            pytest.approx(rate, abs=1e-12),
            pytest.approx(low, abs=1e-12),
            pytest.approx(high, abs=1e-12),
            pytest.approx(n_eff, abs=1e-9),
        )
        assert x["label_percent"] == (label.percent.get(name) if label else None)


def test_report__serious_events_per_product(clinic: tuple[str, Path], report: dict[str, Any]) -> None:
    recs = current(clinic[1])
    cutoff = (date.fromisoformat(AS_OF) - dt.timedelta(days=42)).isoformat()
    rated = {s["id"]: s for s in recs["injection_session"] if s["date"] <= cutoff}
    serious = [e for e in recs["adverse_event"] if e["serious"] and e["session_id"] in rated]
    products = sorted({s["product"] for s in rated.values()})
    assert [x["product"] for x in report["serious_events"]] == products
    assert sum(x["events"] for x in report["serious_events"]) == len(serious) > 0
    for x in report["serious_events"]:
        mine = [s for s in rated.values() if s["product"] == x["product"]]
        hit = {e["session_id"] for e in serious if rated[e["session_id"]]["product"] == x["product"]}
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for s in mine:
            per[s["patient_id"]][0] += int(s["id"] in hit)
            per[s["patient_id"]][1] += 1
        events = sum(1 for e in serious if rated[e["session_id"]]["product"] == x["product"])
        patients = len({rated[h]["patient_id"] for h in hit})
        assert (x["events"], x["patients"], x["n_patients"]) == (events, patients, len(per))
        assert (x["cycles"], x["n_cycles"], x["k"]) == (len(hit), len(mine), len(per))
        if len(mine) < report["summary"]["min_judged"]:
            assert x["rate"] is None and x["low"] is None and x["high"] is None
            continue
        rate, low, high, n_eff = clustered(list(map(tuple, per.values())))  # type: ignore[arg-type]
        assert (x["rate"], x["low"], x["high"], x["n_eff"]) == (
            pytest.approx(rate, abs=1e-12),
            pytest.approx(low, abs=1e-12),
            pytest.approx(high, abs=1e-12),
            pytest.approx(n_eff, abs=1e-9),
        )


def test_report__stop_and_review_lists_the_same_patients(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    recs = current(clinic[1])
    cycles = Cycles(recs)
    needed = int(KB.pathway.stop_review_cycles_without_response.value)
    numbers = {p["id"]: p["record_number"] for p in recs["patient"]}
    judged: dict[str, list[bool | None]] = defaultdict(list)
    # Every session is a cycle. Since session 25 an unjudged one whose week-12 visit passed
    # before the report's date (visits missed) is left out; one still awaiting its visits (it
    # may yet respond) breaks the run: it is kept, and it is not a failure.
    last_week = max(KB.pathway.cycle_response.judged_at_weeks)
    day = date.fromisoformat(AS_OF)
    for s in cycles.sessions:
        verdict = cycles.responded(s["id"])
        missed = (day - date.fromisoformat(s["date"])).days > 7 * last_week
        if verdict is not None or not missed:
            judged[s["patient_id"]].append(verdict)
    expected = sorted(
        numbers[p]
        for p, flags in judged.items()
        if len(flags) >= needed and all(f is False for f in flags[-needed:])
    )
    assert expected, "the synthetic clinic should have patients due for review"
    assert [r["record_number"] for r in report["stop_and_review"]] == expected
    assert report["summary"]["cycles_judged_for_response"] == sum(
        cycles.responded(s["id"]) is not None for s in cycles.sessions
    )


def test_report__duration_of_benefit_censored_at_reinjection_agrees_with_statsmodels(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    cycles = Cycles(current(clinic[1]))
    mcid = KB.outcomes.mcid["nprs"]["pain_intensity"].value
    assert mcid is not None
    days, lost = [], []
    for s in cycles.sessions:
        base, nxt = cycles.base(s["id"]), cycles.next[s["id"]]
        visits = sorted((d, v) for d, v, _ in cycles.follow[s["id"]].values() if nxt is None or d <= nxt)
        if base is None:
            continue
        start, benefit, loss = date.fromisoformat(s["date"]), None, None
        for d, v in visits:
            t = (date.fromisoformat(d) - start).days
            if base - v >= mcid - 1e-9:
                benefit = t
            elif benefit is not None:
                loss = t
                break
        if benefit is None:
            continue
        days.append(loss if loss is not None else benefit)
        lost.append(int(loss is not None))
    d = report["duration"]
    assert (d["cycles_with_benefit"], d["events"], d["censored"]) == (
        len(days),
        sum(lost),
        len(lost) - sum(lost),
    )
    median = SurvfuncRight(days, lost).quantile(0.5)
    assert d["median_days"] == pytest.approx(float(median))
    assert d["turnbull_median_low"] is not None


def test_report__trajectory_counts_each_score_once(clinic: tuple[str, Path], report: dict[str, Any]) -> None:
    cycles = Cycles(current(clinic[1]))
    with_rows = [s for s in cycles.sessions if cycles.follow[s["id"]] and cycles.cycle[s["id"]] <= 4]
    points: dict[str, tuple[str, int, int]] = {}  # score id -> (patient, cycle, week)
    for s in with_rows:  # each cycle's baseline is its week 0 (the earliest cycle it is the baseline of)
        b = cycles.baseline[s["id"]]
        if b is not None and b[0] not in points:
            points[b[0]] = (s["patient_id"], cycles.cycle[s["id"]], 0)
    baselines = set(points)
    for s in with_rows:
        for week, (_, _, oid) in cycles.follow[s["id"]].items():
            if oid not in baselines:
                points[oid] = (s["patient_id"], cycles.cycle[s["id"]], week)
    patients: dict[tuple[int, int], set[str]] = defaultdict(set)
    for p, c, w in points.values():
        patients[(c, w)].add(p)
    used = [(p, c, w) for p, c, w in points.values() if len(patients[(c, w)]) >= 10]
    series = next(t for t in report["trajectories"] if t["score"] == "nprs")
    assert series["n_observations"] == len(used)
    assert series["n_patients"] == len({p for p, _, _ in used})
    counted_twice = len(used) + sum(
        1 for oid in baselines if any(oid == f[2] for s in with_rows for f in cycles.follow[s["id"]].values())
    )
    assert counted_twice > len(used)  # the clinic has scores that are a baseline and a follow-up


def test_report__as_of_a_date_equals_the_report_of_a_copy_holding_only_records_up_to_it(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    folder = clinic[1]
    dated = {
        "injection_session": "date",
        "outcome": "date",
        "screening": "date",
        "assessment": "date",
        "therapy_visit": "date",
        "therapy_plan": "start_date",
        "adverse_event": "reported_date",
        "stock_receipt": "received_on",
        "vial_discard": "discarded_on",
        "vial_opening": "opened_at",  # a time: its day is compared
    }
    later = {
        rid
        for rid, rec in newest(folder).items()
        if rec["type"] in dated and rec["data"][dated[rec["type"]]][:10] > AS_OF
    }
    assert later
    lines = [
        line
        for line in (folder / "all.jsonl").read_text().splitlines()
        if json.loads(line)["id"] not in later
    ]
    (folder / "upto.jsonl").write_text("\n".join(lines) + "\n")
    copy_url = f"sqlite:///{folder / 'upto.db'}"
    result = bontrack("--db", copy_url, "import", str(folder / "upto.jsonl"))
    assert result.exit_code == 0, result.output
    out = folder / "upto.json"
    assert bontrack("--db", copy_url, "report", "--json", "--out", str(out), "--date", AS_OF).exit_code == 0
    assert json.loads(out.read_text()) == report


def test_report__json_has_no_nan_and_carries_the_numbers_and_definitions(
    clinic: tuple[str, Path], report: dict[str, Any]
) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    json.loads((clinic[1] / "r.json").read_text(), parse_constant=refuse)
    for r in report["responders"]:
        assert {"n", "responders", "k", "n_eff", "scope"} <= r.keys()
        assert (r["rate"] is None) == (r["n"] < report["summary"]["min_judged"])
    assert {"as_of", "completeness", "all_cycles", "duration_of_benefit", "cycle_response"} <= report[
        "definitions"
    ].keys()


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


def test_report__every_table_and_figure_fits_the_a4_page(clinic: tuple[str, Path]) -> None:
    """The PDF as WeasyPrint lays it out (what ``render.write_pdf`` prints): no table, cell or
    figure reaches past the page's right margin. Before: the stock table's headings kept to one
    line and its last column ("Share discarded") was cut off the page; the evidence table's
    estimates too. (A page's boxes are WeasyPrint's ``_page_box``: no public API lists them.)"""
    from weasyprint import HTML

    url, folder = clinic
    assert bontrack("--db", url, "report", "--out", str(folder / "a4.html")).exit_code == 0
    past = []
    for n, page in enumerate(HTML(string=(folder / "a4.html").read_text()).render().pages, start=1):
        body = page._page_box
        right = page.width - body.margin_right - body.padding_right - body.border_right_width
        for box in body.descendants():
            if box.element_tag in ("table", "td", "th", "img") and hasattr(box, "border_width"):
                end = box.position_x + box.margin_left + box.border_width()
                if end > right + 1:
                    past.append(f"page {n}: a {box.element_tag} {end - right:.0f} pt past the margin")
    assert not past, past


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
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert bontrack("--db", empty, "db", "upgrade").exit_code == 0  # (a missing registry is refused)
    result = bontrack("--db", empty, "report", "--out", str(out))
    assert result.exit_code == 0
    html = out.read_text()
    assert "holds no injection sessions yet" in html
    assert "no sessions · bontrack" in html and "none to none" not in html  # not "sessions none to none"


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


def test_report__json_carries_the_numbers_behind_the_duration_and_trajectory_figures(
    report: dict[str, Any],
) -> None:
    d = report["duration"]
    assert len(d["loss_intervals"]) == d["cycles_with_benefit"]
    assert sorted(hi for _, hi in d["loss_intervals"] if hi is not None) == d["event_days"]
    assert sorted(lo for lo, hi in d["loss_intervals"] if hi is None) == d["censored_days"]
    for t in report["trajectories"]:
        assert sum(t["scores_per_point"]) == t["n_observations"]
        assert min(t["patients_per_point"]) >= 10 and len(t["patients_per_point"]) == len(t["points"])
