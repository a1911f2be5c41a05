"""Report section 9: the clinic beside the randomized trials (both trial arms, pooled estimates)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bontrack.analytics.intervals import mean_interval, wilson_interval
from bontrack.analytics.trials import load_trials, summarize
from bontrack.reports.sections.common import MIN_JUDGED, value
from bontrack.reports.sections.responders import Mean

WORDS = (
    "Trials that compared toxin with saline injections found that saline helped almost as much: "
    "the difference in neck pain is small and uncertain. This clinic has no control group, so its "
    "improvement includes the effect of needling and injection, of physical therapy, of attention and "
    "expectation, and of regression to the mean (people come when pain is at its worst). Set the "
    "clinic's figures beside both arms of the trials: improvement close to the saline arms is what "
    "injection without an active toxin can achieve. Definitions differ (trial responders were "
    "patients with mild or no pain; the clinic counts a 30% fall in pain), so compare with care."
)


@dataclass(frozen=True, kw_only=True)
class EvidenceArm:
    """One arm of a trial (or the clinic): the share of responders with its 95% interval."""

    source: str
    arm: str
    definition: str
    rate: float
    low: float | None
    high: float | None
    n: int | None


@dataclass(frozen=True, kw_only=True)
class PublishedEstimate:
    """A review's pooled estimate set beside ours."""

    what: str
    shown: str  # the estimate with k, or why no number is shown
    verified: bool
    url: str


@dataclass(frozen=True, kw_only=True)
class NotPooledTrial:
    """A trial on record that is not pooled, and why."""

    study: str
    status: str  # not verified | outside the question | no poolable numbers
    reason: str
    url: str


@dataclass(frozen=True, kw_only=True)
class Pooled:
    """The trials of one outcome pooled (random effects)."""

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


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """The section: arms, pooled estimates, reviews' estimates, the clinic's change and the words."""

    arms: list[EvidenceArm]
    pooled: list[Pooled]
    published: list[str]
    clinic_change: Mean | None
    words: str


def evidence(rows: pd.DataFrame, week: int, moderate: float) -> Evidence:
    """The trials on record, and the clinic's first cycles (``rows``: pain) at ``week``."""
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
                    arms.append(
                        EvidenceArm(
                            source=r["study"],
                            arm=arm,
                            definition=title,
                            rate=w.estimate,
                            low=w.low,
                            high=w.high,
                            n=int(n),
                        )
                    )
            elif "percent_treat" in r:
                for arm, pct in (("BoNT", r["percent_treat"]), ("saline", r["percent_ctrl"])):
                    arms.append(
                        EvidenceArm(
                            source=r["study"],
                            arm=arm,
                            definition=title + " (arm sizes unverified)",
                            rate=pct / 100,
                            low=None,
                            high=None,
                            n=None,
                        )
                    )
        summary = summarize(trials, outcome)
        res = summary.result
        if res is None:
            continue
        pooled.append(
            Pooled(
                outcome=outcome,
                title=title,
                measure=res.measure,
                k=res.k,
                studies=summary.labelled(),
                estimate=res.estimate,
                ci_low=res.ci_low,
                ci_high=res.ci_high,
                shown=summary.shown(),
                tau2=res.tau2,
                i2=res.i2,
                method=summary.method,
                hksj=res.hksj,
                df=res.df,
                se=res.se,
                yi=[e.yi for e in summary.effects],
                vi=[e.vi for e in summary.effects],
                published=[
                    PublishedEstimate(what=p.what, shown=p.shown(), verified=p.verified, url=p.url)
                    for p in summary.published
                ],
                not_pooled=[
                    NotPooledTrial(study=n.study, status=n.status, reason=n.reason, url=n.url)
                    for n in summary.not_pooled
                ],
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
                source="This clinic",
                arm="BoNT + therapy (no control group)",
                definition=f"pain at least {moderate:g}% lower at week {week}",
                rate=w.estimate,
                low=w.low,
                high=w.high,
                n=len(judged),
            )
        )
        ch = mean_interval(at["improvement"].dropna().to_numpy(dtype=float))
        clinic_change = Mean(
            label="NPRS improvement (points)",
            weeks=week,
            scope="first cycles",
            n=ch.n,
            k=ch.n,
            mean=value(ch.estimate),
            low=value(ch.low),
            high=value(ch.high),
        )
    return Evidence(arms=arms, pooled=pooled, published=published, clinic_change=clinic_change, words=WORDS)
