"""What the clinic report says: every number in it, computed from the cohort frames.

Pure: frames and the knowledge base in, a ``Report`` out (no database, no files). The HTML, PDF
and JSON faces render this one object, so they cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from bontrack.analytics.cohort import (
    adverse_event_rates,
    compare_groups,
    mean_change,
    responder_rates,
)
from bontrack.analytics.cycles import ResponseRule, cycle_outcomes, number_cycles
from bontrack.analytics.duration import benefit_durations, kaplan_meier, turnbull
from bontrack.analytics.intervals import mean_interval, wilson_interval
from bontrack.analytics.review import due_for_review, responses
from bontrack.analytics.trajectories import fit_trajectory, visit_frame
from bontrack.analytics.trials import load_trials, summarize
from bontrack.dates import EARLIEST, LATEST
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.data import REPORT_SCORES, CohortFrames


def rand36_scales() -> dict[str, str]:
    """The RAND-36 scales the report shows (those it reads, in its order), labelled as the
    instrument's definition (rand36.toml) labels them."""
    scores = load_definition("rand36").scores
    return {s: scores[s].label for s in REPORT_SCORES if s in scores}


TRAJECTORY_MAX_CYCLES = 4
MIN_GROUP = 10
# A row with fewer judged cycles shows its counts only: no rate, no interval, no bar.
MIN_JUDGED = 10
TOO_FEW = "too few to estimate"

DEFINITIONS = {
    "as_of": "Only records whose clinical date is on or before the report date: sessions by their date, "
    "outcomes by their date, adverse events by the date they were reported. A patient is counted when "
    "they have a session or an outcome on or before it. A visit due after it is neither missing nor counted.",
    "baseline": "A cycle's baseline is the patient's last score on or before the injection day.",
    "each_score_once": "A score belongs to one cycle and one visit: a score that is cycle k's baseline is "
    "cycle k's week-0 point and not also a follow-up of cycle k-1. n_observations counts distinct scores.",
    "completeness": "Scored visits / visits due on or before the report date (session date + visit week "
    "<= report date); a visit is scored when an NPRS is linked to that session and week.",
    "responder_rates": "Per visit week, share of judged cycles whose score improved by the stated amount "
    "on the cycle's baseline (baseline 0: not judged for percentages).",
    "first_cycles": "Each patient's first cycle only (independent): plain Wilson 95% interval; mean "
    "change with an ordinary t interval.",
    "all_cycles": "Every cycle, with k patients, y_i responders among m_i judged cycles of patient i, "
    "n = sum m_i, p = sum y_i / n: v = k/(k-1) * sum_i (y_i - p m_i)^2 / n^2, n_eff = min(n, p(1-p)/v) "
    "(n when v = 0 or p is 0 or 1), Wilson's interval with n_eff in place of n. Mean change: "
    "cluster-robust standard error with the same sum over patients, t with k-1 degrees of freedom.",
    "small_numbers": f"A row with fewer than {MIN_JUDGED} judged cycles shows its counts only ('{TOO_FEW}'): "
    "no rate, no interval, no bar. Missing numbers are null in JSON.",
    "cycle_response": "A cycle responded when its NPRS at the week-6 visit (if missing, at week 12) is at "
    "least 30% below its baseline; never judged on week 2 alone; a baseline of 0 is not judged. "
    "Stop-and-review, in this report, the worklist and the injection plan's warning, uses this one rule.",
    "duration_of_benefit": "A cycle had benefit if some follow-up is at least the MCID (NPRS 2 points) "
    "better than its baseline. Loss = the first later follow-up that is not. A cycle whose next injection "
    "(or last follow-up) comes before any loss is censored at its last follow-up still showing benefit. "
    "Kaplan-Meier on days from injection; median where S(t) <= 0.5 ('not reached' otherwise) with the "
    "log-log interval; sensitivity: Turnbull's NPMLE with each loss in (last visit with benefit, "
    "loss visit].",
    "adverse_events": "Per session, over sessions dated at least the adverse-event window (42 days: the "
    "6-week visit is due) before the report date; interval as for all cycles (clustered by patient).",
    "comparisons": "Pain improvement at the main week of each patient's first cycle (one row per patient, "
    "so ordinary Welch standard errors are patient-clustered); Hedges' g's interval is the difference's "
    "divided by the pooled SD. Words follow the difference's interval: includes 0 -> 'no clear "
    "difference'; excludes it -> better or worse by the difference.",
    "trajectories": "Linear mixed model, random intercept per patient, by exact REML; cycles 1-4; visits "
    f"with at least {MIN_GROUP} patients.",
}


@dataclass(frozen=True)
class Rate:
    label: str
    weeks: int
    scope: str  # "first cycles" or "all cycles"
    n: int  # judged cycles
    responders: int
    k: int  # patients
    n_eff: float | None
    rate: float | None  # None: too few to estimate
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Mean:
    label: str
    weeks: int
    scope: str
    n: int
    k: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Duration:
    cycles_judged: int
    cycles_with_benefit: int
    events: int
    censored: int
    median_days: float | None
    median_low: float | None
    median_high: float | None
    turnbull_median_low: float | None
    turnbull_median_high: float | None
    timeline: list[float]
    survival: list[float]
    ci_low: list[float]
    ci_high: list[float]
    censored_days: list[int]
    event_days: list[int]
    # per cycle with benefit: [last visit with benefit, loss visit or null if censored], in days
    loss_intervals: list[tuple[int, int | None]]


@dataclass(frozen=True)
class TrajectorySeries:
    score: str
    label: str
    points: list[str]  # "C1 0w", "C1 2w", ...
    cycle: list[int]
    weeks: list[int]
    mean: list[float]
    low: list[float]
    high: list[float]
    n_patients: int
    n_observations: int  # distinct scores used
    scores_per_point: list[int]  # scores at each point (they sum to n_observations)
    patients_per_point: list[int]


@dataclass(frozen=True)
class ProfileRow:
    scale: str
    label: str
    n: int
    baseline: float | None
    baseline_low: float | None
    baseline_high: float | None
    followup: float | None
    followup_low: float | None
    followup_high: float | None
    change: float | None
    change_low: float | None
    change_high: float | None


@dataclass(frozen=True)
class EventRow:
    event: str
    cycles: int
    n_cycles: int
    k: int
    n_eff: float | None
    rate: float | None
    low: float | None
    high: float | None
    label_percent: float | None


@dataclass(frozen=True)
class ComparisonRow:
    title: str
    label_a: str
    label_b: str
    n_a: int
    n_b: int
    difference: float
    difference_low: float
    difference_high: float
    hedges_g: float
    g_low: float
    g_high: float
    words: str


@dataclass(frozen=True)
class EvidenceArm:
    source: str
    arm: str
    definition: str
    rate: float
    low: float | None
    high: float | None
    n: int | None


@dataclass(frozen=True)
class PublishedEstimate:
    what: str
    shown: str  # the estimate with k, or why no number is shown
    verified: bool
    url: str


@dataclass(frozen=True)
class NotPooledTrial:
    study: str
    status: str  # not verified | outside the question | no poolable numbers
    reason: str
    url: str


@dataclass(frozen=True)
class Pooled:
    outcome: str
    title: str
    measure: str
    k: int
    studies: list[str]
    estimate: float  # log scale for ratio measures, as the pooling
    ci_low: float
    ci_high: float
    shown: str  # the estimate as a reader sees it (ratios exponentiated)
    tau2: float
    i2: float
    method: str  # REML + HKSJ for k >= 2; one trial is shown as itself
    hksj: bool
    df: int | None
    se: float
    yi: list[float]  # per-trial effects and variances, so the figure can be recomputed
    vi: list[float]
    published: list[PublishedEstimate]  # pooled estimates of reviews set beside this one
    not_pooled: list[NotPooledTrial]  # trials on record that are not in it, and why


@dataclass(frozen=True)
class Evidence:
    arms: list[EvidenceArm]
    pooled: list[Pooled]
    published: list[str]
    clinic_change: Mean | None
    words: str


@dataclass(frozen=True)
class ReviewRow:
    record_number: str
    cycles: int
    last_session: str


@dataclass
class Report:
    generated_on: str  # the report date D: "as of D"
    knowledge_version: str
    summary: dict[str, Any]
    responders: list[Rate]
    changes: list[Mean]
    duration: Duration | None
    lasting_relief: dict[str, int]
    trajectories: list[TrajectorySeries]
    rand36_profile: list[ProfileRow]
    adverse_events: list[EventRow]
    label_adverse_source: str | None
    comparisons: list[ComparisonRow]
    comparisons_skipped: list[str]
    evidence: Evidence
    stop_and_review: list[ReviewRow]
    caveats: list[str] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _finite(asdict(self))
        return out


def _value(x: Any) -> float | None:
    """A finite float, else None (no nan or inf leaves this module)."""
    if x is None or pd.isna(x):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _rule(kb: KnowledgeBase, instrument: str, score: str) -> ResponseRule:
    """How change in one score is judged: the direction from the instrument's definition
    (ScoreDef.better), the thresholds and MCID from the knowledge base."""
    better = load_definition(instrument).scores[score].better
    t = kb.files.outcomes.responder_thresholds
    mcid = kb.files.outcomes.mcid.get(instrument, {}).get(score)
    return ResponseRule(
        instrument,
        score,
        better,
        mcid.value if mcid is not None else None,
        t.moderate_percent.value,
        t.substantial_percent.value,
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (typed access for the dataclasses below)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _rates(rows: pd.DataFrame, flag: str, label: str) -> list[Rate]:
    if rows.empty:
        return []
    out = []
    for r in _records(responder_rates(rows, flag)):
        if r["n"] == 0:
            continue
        shown = r["n"] >= MIN_JUDGED
        out.append(
            Rate(
                label,
                int(r["weeks"]),
                str(r["scope"]),
                int(r["n"]),
                int(r["responders"]),
                int(r["k"]),
                _value(r["n_eff"]),
                _value(r["rate"]) if shown else None,
                _value(r["low"]) if shown else None,
                _value(r["high"]) if shown else None,
            )
        )
    return out


def _means(rows: pd.DataFrame, label: str) -> list[Mean]:
    if rows.empty:
        return []
    out = []
    for r in _records(mean_change(rows)):
        if r["n"] == 0:
            continue
        shown = r["n"] >= MIN_JUDGED
        out.append(
            Mean(
                label,
                int(r["weeks"]),
                str(r["scope"]),
                int(r["n"]),
                int(r["k"]),
                _value(r["mean"]) if shown else None,
                _value(r["low"]) if shown else None,
                _value(r["high"]) if shown else None,
            )
        )
    return out


def _summary(
    frames: CohortFrames, nprs_rows: pd.DataFrame, visit_weeks: list[int], today: date
) -> dict[str, Any]:
    s = frames.sessions
    per_patient = s.groupby("patient_id").size() if len(s) else pd.Series(dtype=int)
    day = pd.Timestamp(today)
    due_on: set[tuple[Any, int]] = set()
    for w in visit_weeks:  # a visit is due on its session's date plus its week
        ripe = s.loc[s["date"] + pd.Timedelta(weeks=w) <= day, "session_id"]
        due_on |= {(sid, w) for sid in ripe}
    scored = (
        frames.measurements.dropna(subset=["session_id", "weeks_after_session"])
        .query("instrument == 'nprs'")
        .drop_duplicates(["session_id", "weeks_after_session"])
    )
    scored_due = sum(
        (sid, int(w)) in due_on
        for sid, w in zip(scored["session_id"], scored["weeks_after_session"], strict=True)
    )
    return {
        "patients": len(frames.patients),
        "patients_treated": int(s["patient_id"].nunique()) if len(s) else 0,
        "sessions": len(s),
        "first_session": s["date"].min().date().isoformat() if len(s) else None,
        "last_session": s["date"].max().date().isoformat() if len(s) else None,
        "cycles_per_patient": {str(k): int(v) for k, v in per_patient.value_counts().sort_index().items()},
        "decisions": {str(k): int(v) for k, v in s["decision"].value_counts().sort_index().items()},
        "overrides": int(s["override"].sum()) if len(s) else 0,
        "products": {str(k): int(v) for k, v in s["product"].value_counts().items()},
        "with_physical_therapy": int(s["physical_therapy"].sum()) if len(s) else 0,
        "outcome_visits_due": len(due_on),
        "outcome_visits_not_yet_due": len(s) * len(visit_weeks) - len(due_on),
        "outcome_visits_with_pain_score": int(scored_due),
        "sessions_with_followup": int(nprs_rows["session_id"].nunique()) if len(nprs_rows) else 0,
    }


def _lasting_relief(rows: pd.DataFrame, last_week: int) -> dict[str, int]:
    """Patients by the first cycle whose last scheduled visit still met the moderate threshold."""
    if rows.empty:
        return {}
    late = rows[(rows["weeks"] == last_week) & rows["responder_moderate"].notna()]
    late = late.assign(hit=late["responder_moderate"].astype(bool))
    first = late[late["hit"]].groupby("patient_id")["cycle"].min()
    counts = first.value_counts().sort_index()
    out = {f"cycle {int(str(c))}": int(n) for c, n in counts.items()}
    never = int(late["patient_id"].nunique() - len(first))
    if never:
        out["not yet"] = never
    return out


def _trajectory(rows: pd.DataFrame, score: str, label: str) -> TrajectorySeries | None:
    if rows.empty:
        return None
    long = visit_frame(rows, max_cycle=TRAJECTORY_MAX_CYCLES)
    long = long.assign(visit=long["cycle"].astype(int) * 1000 + long["weeks"].astype(int))
    counts = long.groupby("visit")["patient_id"].nunique()
    long = long[long["visit"].isin(counts[counts >= MIN_GROUP].index)]
    if long["patient_id"].nunique() < MIN_GROUP or long["visit"].nunique() < 2:
        return None
    fit = fit_trajectory(long[["patient_id", "visit", "value"]])
    cycles = [v // 1000 for v in fit.visits]
    weeks = [v % 1000 for v in fit.visits]
    return TrajectorySeries(
        score=score,
        label=label,
        points=[f"C{c} {w}w" for c, w in zip(cycles, weeks, strict=True)],
        cycle=cycles,
        weeks=weeks,
        mean=fit.mean,
        low=fit.low,
        high=fit.high,
        n_patients=fit.n_patients,
        n_observations=fit.n_observations,
        scores_per_point=[int(n) for n in long.groupby("visit").size().reindex(fit.visits)],
        patients_per_point=[int(n) for n in counts.reindex(fit.visits)],
    )


def _profile(frames: CohortFrames, kb: KnowledgeBase, followup_week: int) -> list[ProfileRow]:
    out = []
    for scale, label in rand36_scales().items():
        rows = cycle_outcomes(frames.sessions, frames.measurements, _rule(kb, "rand36", scale))
        rows = rows[(rows["cycle"] == 1) & (rows["weeks"] == followup_week)].dropna(subset=["baseline"])
        if rows.empty:
            continue
        shown = len(rows) >= MIN_JUDGED
        b = mean_interval(rows["baseline"].tolist())
        f = mean_interval(rows["value"].tolist())
        c = mean_interval(rows["change"].tolist())
        values = [_value(x) if shown else None for r in (b, f, c) for x in (r.estimate, r.low, r.high)]
        out.append(ProfileRow(scale, label, len(rows), *values))
    return out


def _events(
    frames: CohortFrames, kb: KnowledgeBase, today: date
) -> tuple[list[EventRow], str | None, dict[str, int]]:
    """Adverse events per session over sessions dated at least pathway.adverse_event_window_days
    before ``today`` (their 6-week visit is due); the counts say how many were left out."""
    window = int(kb.files.pathway.adverse_event_window_days.value)
    sessions = frames.sessions
    rated = sessions[sessions["date"] <= pd.Timestamp(today) - pd.Timedelta(days=window)]
    counts = {
        "adverse_event_window_days": window,
        "sessions_rated_for_adverse_events": len(rated),
        "sessions_too_recent_for_adverse_events": len(sessions) - len(rated),
    }
    if len(rated) == 0:
        return [], None, counts
    products = rated["product"].value_counts()
    label = kb.files.label_adverse_reactions.get(str(products.index[0])) if len(products) else None
    rates = adverse_event_rates(frames.adverse_events, rated[["patient_id", "session_id"]])
    shown = len(rated) >= MIN_JUDGED
    rows = [
        EventRow(
            str(r["event"]),
            int(r["cycles"]),
            int(r["n_cycles"]),
            int(r["k"]),
            _value(r["n_eff"]),
            _value(r["rate"]) if shown else None,
            _value(r["low"]) if shown else None,
            _value(r["high"]) if shown else None,
            label.percent.get(str(r["event"])) if label is not None else None,
        )
        for r in _records(rates)
    ]
    source = None
    if label is not None:
        source = f"{products.index[0]} label ({label.indication}): {kb.cite(label)}"
    return rows, source, counts


def _comparisons(
    frames: CohortFrames, rows: pd.DataFrame, week: int
) -> tuple[list[ComparisonRow], list[str]]:
    """Improvement in pain at ``week`` of the first cycle between registry groups (not randomized)."""
    done: list[ComparisonRow] = []
    skipped: list[str] = []
    at = rows[(rows["weeks"] == week)].dropna(subset=["improvement"])
    at = at.merge(
        frames.sessions[["session_id", "product", "total_units", "physical_therapy"]], on="session_id"
    )

    def add(title: str, a: pd.DataFrame, b: pd.DataFrame, la: str, lb: str) -> None:
        if len(a) < MIN_GROUP or len(b) < MIN_GROUP:
            skipped.append(
                f"{title}: too few cycles to compare ({la} {len(a)}, {lb} {len(b)}; need {MIN_GROUP})"
            )
            return
        c = compare_groups(a["improvement"].tolist(), b["improvement"].tolist(), la, lb)
        done.append(
            ComparisonRow(
                title,
                la,
                lb,
                c.n_a,
                c.n_b,
                c.difference,
                c.difference_low,
                c.difference_high,
                c.hedges_g,
                c.g_low,
                c.g_high,
                c.plain_words(),
            )
        )

    pt = at["physical_therapy"].astype(bool)
    add("Physical therapy alongside", at[pt], at[~pt], "with physical therapy", "without physical therapy")
    counts = at["product"].value_counts()
    if len(counts):
        top = str(counts.index[0])
        for other in counts.index[1:]:
            add(
                f"Product: {top} vs {other}",
                at[at["product"] == top],
                at[at["product"] == other],
                top,
                str(other),
            )
        same = at[at["product"] == top]
        median = float(same["total_units"].median()) if len(same) else 0.0
        add(
            f"Dose within {top} (units are not comparable across products)",
            same[same["total_units"] > median],
            same[same["total_units"] <= median],
            f"above {median:g} U",
            f"{median:g} U or less",
        )
    return done, skipped


def _evidence(rows: pd.DataFrame, week: int, moderate: float) -> Evidence:
    trials = load_trials()
    arms: list[EvidenceArm] = []
    pooled: list[Pooled] = []
    for outcome, title in trials.outcomes.items():
        for r in trials.rows:
            if r["outcome"] != outcome or "exclude" in r:
                continue
            if r["verified"] and "events_treat" in r:
                for arm, k, n in (
                    ("BoNT", r["events_treat"], r["n_treat"]),
                    ("saline", r["events_ctrl"], r["n_ctrl"]),
                ):
                    w = wilson_interval(int(k), int(n))
                    arms.append(EvidenceArm(r["study"], arm, title, w.estimate, w.low, w.high, int(n)))
            elif "percent_treat" in r:
                for arm, pct in (("BoNT", r["percent_treat"]), ("saline", r["percent_ctrl"])):
                    arms.append(
                        EvidenceArm(
                            r["study"], arm, title + " (arm sizes unverified)", pct / 100, None, None, None
                        )
                    )
        summary = summarize(trials, outcome)
        res = summary.result
        if res is None:
            continue
        pooled.append(
            Pooled(
                outcome,
                title,
                res.measure,
                res.k,
                summary.labelled(),
                res.estimate,
                res.ci_low,
                res.ci_high,
                summary.shown(),
                res.tau2,
                res.i2,
                summary.method,
                res.hksj,
                res.df,
                res.se,
                [e.yi for e in summary.effects],
                [e.vi for e in summary.effects],
                [PublishedEstimate(p.what, p.shown(), p.verified, p.url) for p in summary.published],
                [NotPooledTrial(n.study, n.status, n.reason, n.url) for n in summary.not_pooled],
            )
        )
    published = [f"{p.what}: {p.shown()}" for o in trials.outcomes for p in summarize(trials, o).published]
    at = rows[rows["weeks"] == week]
    judged = at["responder_moderate"].dropna().astype(bool)
    clinic_change = None
    if len(judged) >= MIN_JUDGED:  # fewer: too few to estimate, no point drawn
        w = wilson_interval(int(judged.sum()), len(judged))
        arms.append(
            EvidenceArm(
                "This clinic",
                "BoNT + therapy (no control group)",
                f"pain at least {moderate:g}% lower at week {week}",
                w.estimate,
                w.low,
                w.high,
                len(judged),
            )
        )
        ch = mean_interval(at["improvement"].dropna().tolist())
        clinic_change = Mean(
            "NPRS improvement (points)",
            week,
            "first cycles",
            ch.n,
            ch.n,
            _value(ch.estimate),
            _value(ch.low),
            _value(ch.high),
        )
    words = (
        "Trials that compared toxin with saline injections found that saline helped almost as much: "
        "the difference in neck pain is small and uncertain. This clinic has no control group, so its "
        "improvement includes the effect of needling and injection, of physical therapy, of attention and "
        "expectation, and of regression to the mean (people come when pain is at its worst). Set the "
        "clinic's figures beside both arms of the trials: improvement close to the saline arms is what "
        "injection without an active toxin can achieve. Definitions differ (trial responders were "
        "patients with mild or no pain; the clinic counts a 30% fall in pain), so compare with care."
    )
    return Evidence(arms, pooled, published, clinic_change, words)


def _review(frames: CohortFrames, kb: KnowledgeBase) -> list[ReviewRow]:
    """The worklist's rule on the report's frames (analytics.review), listed by record number."""
    due = due_for_review(frames.sessions, frames.measurements, kb)
    if not due:
        return []
    # stop_and_review names patients as text; the frames may hold ids or integer codes (_coded)
    numbers = dict(
        zip(frames.patients["patient_id"].astype(str), frames.patients["record_number"], strict=True)
    )
    mine = frames.sessions.assign(patient_id=frames.sessions["patient_id"].astype(str))
    mine = mine[mine["patient_id"].isin(due)]
    n = mine.groupby("patient_id")["session_id"].size().to_dict()
    last = mine.groupby("patient_id")["date"].max().dt.strftime("%Y-%m-%d").to_dict()
    out = [ReviewRow(str(numbers.get(pid, pid)), int(n[pid]), str(last[pid])) for pid in due]
    return sorted(out, key=lambda r: r.record_number)


def _coded(frames: CohortFrames) -> CohortFrames:
    """The frames with patient and session ids replaced by integer codes in the ids' sort order.

    Every merge, sort and group-by of the analysis keys on these ids; on 36-character text they
    cost most of the report's time, on integers a fraction. Sorting the codes sorts as the ids
    did, so ties are broken the same way; a missing session id stays missing (NaN). The report
    names patients by record number, never by id, so nothing shown changes.
    """

    def codes(*columns: pd.Series) -> pd.Index:
        values = pd.concat([c.dropna() for c in columns], ignore_index=True).unique()
        index: pd.Index = pd.Index(sorted(values))
        return index

    patients = codes(
        frames.patients["patient_id"], frames.sessions["patient_id"], frames.measurements["patient_id"]
    )
    sessions = codes(
        frames.sessions["session_id"], frames.measurements["session_id"], frames.adverse_events["session_id"]
    )

    def patient(c: pd.Series) -> pd.Series:
        return pd.Series(patients.get_indexer(pd.Index(c)), index=c.index, dtype="int64")

    def session(c: pd.Series) -> pd.Series:
        coded = pd.Series(sessions.get_indexer(pd.Index(c)), index=c.index, dtype="float64")
        return coded.where(c.notna())

    return CohortFrames(
        frames.patients.assign(patient_id=patient(frames.patients["patient_id"])),
        frames.sessions.assign(
            patient_id=patient(frames.sessions["patient_id"]),
            session_id=session(frames.sessions["session_id"]),
        ),
        frames.measurements.assign(
            patient_id=patient(frames.measurements["patient_id"]),
            session_id=session(frames.measurements["session_id"]),
        ),
        frames.adverse_events.assign(session_id=session(frames.adverse_events["session_id"])),
    )


def _dates_at_the_edge(frames: CohortFrames) -> int:
    """Session and measurement dates that reports.data clamped to 1900-01-01 or 2100-12-31."""
    edges = [pd.Timestamp(EARLIEST), pd.Timestamp(LATEST)]
    sessions = int(frames.sessions["date"].isin(edges).sum()) if len(frames.sessions) else 0
    measured = frames.measurements.drop_duplicates(subset=["patient_id", "date", "instrument"])
    return sessions + (int(measured["date"].isin(edges).sum()) if len(measured) else 0)


def as_of(frames: CohortFrames, day: date) -> CohortFrames:
    """Only the records whose clinical date is on or before ``day``: sessions by their date,
    outcomes by theirs, adverse events by the date they were reported (and of a kept session);
    patients who have a session or an outcome by then."""
    end = pd.Timestamp(day)
    sessions = frames.sessions[frames.sessions["date"] <= end]
    measurements = frames.measurements[frames.measurements["date"] <= end]
    events = frames.adverse_events
    if "reported_date" in events.columns:
        events = events[events["reported_date"] <= end]
    events = events[events["session_id"].isin(set(sessions["session_id"]))]
    seen = set(sessions["patient_id"]) | set(measurements["patient_id"])
    patients = frames.patients[frames.patients["patient_id"].isin(seen)]
    return CohortFrames(patients, sessions, measurements, events)


def build_report(frames: CohortFrames, kb: KnowledgeBase, *, today: date) -> Report:
    """Every section of the clinic report from the cohort frames, as of ``today``."""
    visit_weeks = list(kb.files.pathway.outcome_visit_weeks.weeks)
    main_week = sorted(visit_weeks)[len(visit_weeks) // 2]  # the knowledge base lists at least one
    last_week = max(visit_weeks)
    at_edge = _dates_at_the_edge(frames)  # before as_of: a year-9999 date is after any report date
    frames = as_of(_coded(frames), today)
    frames = CohortFrames(
        frames.patients, number_cycles(frames.sessions), frames.measurements, frames.adverse_events
    )
    nprs = cycle_outcomes(frames.sessions, frames.measurements, _rule(kb, "nprs", "pain_intensity"))
    ndi = cycle_outcomes(frames.sessions, frames.measurements, _rule(kb, "ndi", "total"))
    rand_pain = cycle_outcomes(frames.sessions, frames.measurements, _rule(kb, "rand36", "pain"))
    rand_ewb = cycle_outcomes(
        frames.sessions, frames.measurements, _rule(kb, "rand36", "emotional_wellbeing")
    )
    t = kb.files.outcomes.responder_thresholds
    mod, sub = t.moderate_percent.value, t.substantial_percent.value
    ndi_mcid = kb.files.outcomes.mcid["ndi"]["total"].value
    nprs_mcid = kb.files.outcomes.mcid["nprs"]["pain_intensity"].value
    responders = (
        _rates(nprs, "responder_moderate", f"Pain (NPRS) at least {mod:g}% lower")
        + _rates(nprs, "responder_substantial", f"Pain (NPRS) at least {sub:g}% lower")
        + _rates(ndi, "mcid_met", f"Neck Disability Index at least {ndi_mcid:g} points better")
    )
    changes = (
        _means(nprs, "Pain, NPRS 0-10 (points better)")
        + _means(ndi, "Neck Disability Index 0-50 (points better)")
        + _means(rand_pain, "RAND-36 bodily pain 0-100 (points better)")
        + _means(rand_ewb, "RAND-36 emotional well-being 0-100 (points better)")
    )
    duration = _duration(nprs, nprs_mcid) if len(nprs) and nprs_mcid is not None else None
    trajectories = [
        s
        for s in (
            _trajectory(nprs, "nprs", "Pain (NPRS 0-10)"),
            _trajectory(ndi, "ndi", "Neck Disability Index (0-50)"),
        )
        if s is not None
    ]
    events, label_source, event_counts = _events(frames, kb, today)
    first = nprs[nprs["cycle"] == 1] if len(nprs) else nprs
    comparisons, skipped = _comparisons(frames, first, main_week)
    cycles_wo = int(kb.files.pathway.stop_review_cycles_without_response.value)
    responded = responses(frames.sessions, frames.measurements, kb)
    window = event_counts["adverse_event_window_days"]
    caveats = [
        "Nobody in this registry was randomized: differences between groups are associations, not effects.",
        f"Outcome visits are scheduled {', '.join(str(w) for w in visit_weeks)} weeks after each "
        "injection; missed visits are missing, not counted as failures, so rates describe the patients "
        "who came back. Visits not yet due on the report date are neither missing nor counted.",
        "Each responder and mean-change row is given for each patient's first cycle (independent "
        "patients) and for all cycles, whose intervals allow for a patient's cycles being alike "
        f"(n_eff, k patients). Rows with fewer than {MIN_JUDGED} judged cycles show counts only.",
        f"Duration of benefit counts cycles whose pain improved by at least {nprs_mcid:g} points (the "
        "MCID) at some visit; loss is dated at the visit that found it, so the curve steps only on "
        "visit days; a re-injection before any loss censors the cycle (it is not a loss).",
        f"Adverse events are rated over sessions at least {window} days old "
        f"({event_counts['sessions_too_recent_for_adverse_events']} more recent sessions left out: "
        "their events may not be reported yet).",
    ]
    if at_edge:
        caveats.append(
            f"{at_edge} session or measurement date{'s' if at_edge > 1 else ''} lay outside 1900 to 2100 "
            "(a typing error, or imported from elsewhere) and "
            f"{'were' if at_edge > 1 else 'was'} taken as 1900-01-01 or 2100-12-31 (a date after "
            "this report's is left out): correct them."
        )
    return Report(
        generated_on=today.isoformat(),
        knowledge_version=kb.version,
        summary=_summary(frames, nprs, visit_weeks, today)
        | event_counts
        | {
            "cycles_judged_for_response": int(responded["responded"].notna().sum()),
            "cycles_responded": int((responded["responded"] == True).sum()),  # noqa: E712
            "main_week": main_week,
            "moderate_percent": mod,
            "review_cycles": cycles_wo,
            "review_percent": kb.files.pathway.cycle_response.min_improvement_percent,
            "review_judged_at_weeks": list(kb.files.pathway.cycle_response.judged_at_weeks),
            "profile_week": last_week,
            "visit_weeks": visit_weeks,
            "min_judged": MIN_JUDGED,
        },
        responders=responders,
        changes=changes,
        duration=duration,
        lasting_relief=_lasting_relief(nprs, last_week),
        trajectories=trajectories,
        rand36_profile=_profile(frames, kb, last_week),
        adverse_events=events,
        label_adverse_source=label_source,
        comparisons=comparisons,
        comparisons_skipped=skipped,
        evidence=_evidence(first, main_week, mod),
        stop_and_review=_review(frames, kb),
        caveats=caveats,
    )


def _duration(nprs: pd.DataFrame, mcid: float) -> Duration | None:
    d = benefit_durations(nprs, mcid)
    judged = int(nprs.dropna(subset=["baseline"])["session_id"].nunique())
    if len(d) < MIN_JUDGED:
        return None
    km = kaplan_meier(d["days"], d["lost"])
    lost = d["lost"].astype(bool)
    upper = [float(x) if ok else math.inf for x, ok in zip(d["loss_days"], lost, strict=True)]
    tb = turnbull([float(x) + 1 for x in d["benefit_days"]], upper)
    return Duration(
        cycles_judged=judged,
        cycles_with_benefit=len(d),
        events=km.events,
        censored=int((~lost).sum()),
        median_days=_value(km.median),
        median_low=_value(km.median_low),
        median_high=_value(km.median_high),
        turnbull_median_low=_value(tb.median_low),
        turnbull_median_high=_value(tb.median_high),
        timeline=km.timeline.tolist(),
        survival=km.survival.tolist(),
        ci_low=km.ci_low.tolist(),
        ci_high=km.ci_high.tolist(),
        censored_days=sorted(int(x) for x in d.loc[~lost, "days"]),
        event_days=sorted(int(x) for x in d.loc[lost, "days"]),
        loss_intervals=sorted(
            (
                (int(b), None if pd.isna(x) else int(x))
                for b, x in zip(d["benefit_days"], d["loss_days"], strict=True)
            ),
            key=lambda pair: (pair[0], math.inf if pair[1] is None else pair[1]),
        ),
    )
