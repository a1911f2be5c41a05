"""The curated trials of BoNT against placebo (``knowledge/evidence_trials.toml``).

Every row names a ``source`` (and optionally ``also``, more sources) in ``knowledge/sources.toml``
and says ``where`` and what was verified. ``trials_csv`` prints one outcome's rows as pool-ready
CSV: only rows with ``verified = true`` unless unverified ones are asked for; rows that lack the
numbers of any input form (a percentage without counts) or that carry an ``exclude`` reason are
never printed.

``summarize`` is the evidence the report and ``bontrack evidence summary`` show: per outcome the
verified, not excluded trials pooled by REML with the Hartung-Knapp-Sidik-Jonkman interval
(t with k-1 degrees of freedom; ``analytics.evidence.pool``), every other trial on record with
the reason it is not pooled, and the published pooled estimates (``[checks]``) beside them. One
trial is shown as itself (its own 95% Wald interval): there is nothing to pool and the
Hartung-Knapp interval needs k >= 2.
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from bontrack.analytics.effect_sizes import RATIO_MEASURES, EffectSize, log_risk_ratio, smd
from bontrack.analytics.evidence import PooledEffect, pool
from bontrack.analytics.evidence_csv import EVENTS, MEANS
from bontrack.csv_cells import safe_cell

Z95 = 1.959963984540054
REQUIRED = ("id", "study", "outcome", "verified", "source", "where", "note")
CHECK_REQUIRED = ("what", "outcome", "verified", "source", "where", "note")
CHECK_NUMBERS = ("measure", "k", "estimate", "ci_low", "ci_high")
VERIFIED_IN = ("trial report", "review table")


class TrialDataError(ValueError):
    """The curated file is inconsistent, or the outcome asked for has no rows to print."""


@dataclass(frozen=True)
class Trials:
    outcomes: dict[str, str]
    rows: tuple[dict[str, Any], ...]
    checks: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, source: str) -> str:
        """The address of a source id (empty when it has none)."""
        return str(self.sources.get(source, {}).get("url", ""))


def _read(name: str) -> dict[str, Any]:
    text = resources.files("bontrack.knowledge").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_trials() -> Trials:
    """Load and check the curated trials: required fields, known outcomes and source ids.

    Examples
    --------
    >>> trials = load_trials()
    >>> "pain_4wk" in trials.outcomes and all(r["source"] for r in trials.rows)
    True
    """
    return build_trials(_read("evidence_trials.toml"), _read("sources.toml").get("sources", {}))


def build_trials(data: dict[str, Any], sources: dict[str, Any]) -> Trials:
    """Check parsed ``evidence_trials.toml`` data against the source ids and return it as ``Trials``."""
    outcomes = {key: value["title"] for key, value in data.get("outcomes", {}).items()}
    rows = tuple(data.get("trials", []))
    for row in rows:
        missing = [key for key in REQUIRED if key not in row]
        if missing:
            raise TrialDataError(
                f"evidence_trials.toml, trial {row.get('id', '?')}: missing {', '.join(missing)}"
            )
        _check_sources(f"trial {row['id']}", row, sources)
        if row["outcome"] not in outcomes:
            raise TrialDataError(
                f"evidence_trials.toml, trial {row['id']}: unknown outcome {row['outcome']!r}"
            )
        if row.get("verified_in", "trial report") not in VERIFIED_IN:
            raise TrialDataError(
                f"evidence_trials.toml, trial {row['id']}: "
                f"verified_in must be one of {', '.join(VERIFIED_IN)}"
            )
        if row["verified"] and "exclude" in row:
            raise TrialDataError(
                f"evidence_trials.toml, trial {row['id']}: "
                "an excluded trial is not pooled; set verified = false"
            )
    checks = data.get("checks", {})
    for key, check in checks.items():
        missing = [name for name in CHECK_REQUIRED if name not in check]
        if missing:
            raise TrialDataError(f"evidence_trials.toml, check {key}: missing {', '.join(missing)}")
        _check_sources(f"check {key}", check, sources)
        if check["verified"] and any(name not in check for name in CHECK_NUMBERS):
            raise TrialDataError(
                f"evidence_trials.toml, check {key}: a verified estimate needs {', '.join(CHECK_NUMBERS)}"
            )
    return Trials(outcomes, rows, checks, sources)


def _check_sources(what: str, row: dict[str, Any], sources: dict[str, Any]) -> None:
    for source in [row.get("source"), *row.get("also", [])]:
        if source not in sources:
            raise TrialDataError(f"evidence_trials.toml, {what}: unknown source {source!r}")


def _form(row: dict[str, Any]) -> tuple[str, dict[str, float]] | None:
    if all(key in row for key in MEANS):
        return "means", {key: row[key] for key in MEANS}
    if all(key in row for key in EVENTS):
        return "events", {key: row[key] for key in EVENTS}
    if "yi" in row and "vi" in row:
        return "yi,vi", {"yi": row["yi"], "vi": row["vi"]}
    if all(key in row for key in ("yi", "ci_low", "ci_high")):
        # a 95% CI reported symmetric on the analysis scale gives the variance back
        se = (row["ci_high"] - row["ci_low"]) / (2 * Z95)
        return "yi,vi", {"yi": row["yi"], "vi": se**2}
    return None


def trials_csv(trials: Trials, *, outcome: str, include_unverified: bool = False) -> str:
    """CSV text of one outcome's rows in the single input form they share.

    Examples
    --------
    >>> print(trials_csv(load_trials(), outcome="responders_wk5"), end="")
    study,events_treat,n_treat,events_ctrl,n_ctrl
    Benecke 2011,37,76,27,72
    """
    if outcome not in trials.outcomes:
        raise TrialDataError(f"unknown outcome {outcome!r}; known: {', '.join(sorted(trials.outcomes))}")
    chosen = [
        r
        for r in trials.rows
        if r["outcome"] == outcome and "exclude" not in r and (r["verified"] or include_unverified)
    ]
    forms = [(r, _form(r)) for r in chosen]
    usable = [(r, f) for r, f in forms if f is not None]
    if not usable:
        held = [r["id"] for r in trials.rows if r["outcome"] == outcome]
        raise TrialDataError(
            f"outcome {outcome!r} has no rows with poolable, "
            + ("" if include_unverified else "verified ")
            + f"numbers (trials on record: {', '.join(held) or 'none'})"
            + ("" if include_unverified else "; --include-unverified also prints unverified rows")
        )
    kinds = {f[0] for _, f in usable}
    if len(kinds) > 1:
        raise TrialDataError(f"outcome {outcome!r} mixes input forms ({', '.join(sorted(kinds))})")
    columns = list(usable[0][1][1])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["study", *columns])
    for row, (_, values) in usable:
        writer.writerow([safe_cell(row["study"]), *(f"{values[c]:g}" for c in columns)])
    return out.getvalue()


@dataclass(frozen=True)
class NotPooled:
    """A trial on record for an outcome that is not in the pooled estimate, and why."""

    study: str
    status: str  # "not verified", "outside the question" or "no poolable numbers"
    reason: str
    source: str
    url: str


@dataclass(frozen=True)
class Published:
    """A published pooled estimate set beside ours; numbers only when verified at the source."""

    key: str
    what: str
    outcome: str
    verified: bool
    measure: str
    k: int | None
    participants: int | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    source: str
    url: str
    where: str
    note: str

    def shown(self) -> str:
        """The estimate as a reader sees it, or why there is none."""
        if not self.verified or self.estimate is None or self.ci_low is None or self.ci_high is None:
            return "pooled estimate not read at the source"
        size = f"{self.k} trials" + (f", {self.participants} participants" if self.participants else "")
        return f"{self.measure} {self.estimate:.2f} (95% CI {self.ci_low:.2f} to {self.ci_high:.2f}; {size})"


@dataclass(frozen=True)
class OutcomeSummary:
    """One outcome: the verified trials, their pooled estimate, the rest on record, the reviews."""

    outcome: str
    title: str
    measure: str | None
    studies: tuple[str, ...]
    effects: tuple[EffectSize, ...]
    result: PooledEffect | None
    method: str
    not_pooled: tuple[NotPooled, ...]
    published: tuple[Published, ...]
    read_in: tuple[str, ...] = ()  # per pooled study: "trial report" or "review table"

    def labelled(self) -> list[str]:
        """The pooled studies, each marked when its numbers were read in a review's table."""
        read_in = self.read_in or ("trial report",) * len(self.studies)
        return [
            s if r == "trial report" else f"{s} ({r})" for s, r in zip(self.studies, read_in, strict=True)
        ]

    @property
    def k(self) -> int:
        return len(self.effects)

    def shown(self) -> str:
        """``SMD -0.10 (95% CI -0.50 to 0.30)``; ratio measures exponentiated; '' when nothing."""
        r = self.result
        if r is None:
            return ""
        f = math.exp if r.measure in RATIO_MEASURES else float
        return f"{r.measure} {f(r.estimate):.2f} (95% CI {f(r.ci_low):.2f} to {f(r.ci_high):.2f})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the pooled result (``null`` when no verified trial), the trials and reviews."""
        return {
            "outcome": self.outcome,
            "title": self.title,
            "measure": self.measure,
            "k": self.k,
            "studies": list(self.studies),
            "read_in": list(self.read_in),
            "effects": [{"study": e.study, "yi": e.yi, "vi": e.vi} for e in self.effects],
            "method": self.method,
            "shown": self.shown() or None,
            "result": self.result.to_dict() if self.result is not None else None,
            "not_pooled": [asdict(n) for n in self.not_pooled],
            "published": [asdict(p) | {"shown": p.shown()} for p in self.published],
        }


def effect_of(row: dict[str, Any]) -> tuple[str, EffectSize] | None:
    """A curated row's effect: Hedges' g for means, log RR for events; None without numbers.

    Examples
    --------
    >>> measure, es = effect_of({"study": "A", "events_treat": 4, "n_treat": 123,
    ...                          "events_ctrl": 11, "n_ctrl": 139})
    >>> measure, round(es.yi, 4), round(es.vi, 4)
    ('RR', -0.8893, 0.3256)
    """
    form = _form(row)
    if form is None:
        return None
    kind, v = form
    if kind == "means":
        es = smd(
            row["study"],
            v["mean_treat"],
            v["sd_treat"],
            v["n_treat"],
            v["mean_ctrl"],
            v["sd_ctrl"],
            v["n_ctrl"],
        )
        return "SMD", es
    if kind == "events":
        return "RR", log_risk_ratio(
            row["study"], v["events_treat"], v["n_treat"], v["events_ctrl"], v["n_ctrl"]
        )
    return str(row.get("measure", "GEN")), EffectSize(row["study"], v["yi"], v["vi"])


def _published(trials: Trials, key: str, c: dict[str, Any]) -> Published:
    return Published(
        key=key,
        what=c["what"],
        outcome=c["outcome"],
        verified=bool(c["verified"]),
        measure=str(c.get("measure", "")),
        k=c.get("k"),
        participants=c.get("participants"),
        estimate=c.get("estimate") if c["verified"] else None,
        ci_low=c.get("ci_low") if c["verified"] else None,
        ci_high=c.get("ci_high") if c["verified"] else None,
        source=c["source"],
        url=trials.url(c["source"]),
        where=c["where"],
        note=c["note"],
    )


def summarize(trials: Trials, outcome: str) -> OutcomeSummary:
    """The evidence for one outcome (see the module docstring for the method).

    Examples
    --------
    >>> s = summarize(load_trials(), "responders_wk5")
    >>> s.k, s.studies, s.shown()
    (1, ('Benecke 2011',), 'RR 1.30 (95% CI 0.89 to 1.89)')
    >>> [n.study for n in s.not_pooled]
    ['Gobel 2006']
    """
    if outcome not in trials.outcomes:
        raise TrialDataError(f"unknown outcome {outcome!r}; known: {', '.join(sorted(trials.outcomes))}")
    effects: list[EffectSize] = []
    read_in: list[str] = []
    measures: set[str] = set()
    not_pooled: list[NotPooled] = []
    for row in (r for r in trials.rows if r["outcome"] == outcome):
        found = effect_of(row)
        if row["verified"] and "exclude" not in row and found is not None:
            measures.add(found[0])
            effects.append(found[1])
            read_in.append(str(row.get("verified_in", "trial report")))
            continue
        if "exclude" in row:
            status, reason = "outside the question", str(row["exclude"])
        elif not row["verified"]:
            status, reason = "not verified", str(row["note"])
        else:
            status, reason = "no poolable numbers", str(row["note"])
        not_pooled.append(NotPooled(row["study"], status, reason, row["source"], trials.url(row["source"])))
    if len(measures) > 1:
        raise TrialDataError(f"outcome {outcome!r} mixes measures ({', '.join(sorted(measures))})")
    measure = measures.pop() if measures else None
    result: PooledEffect | None = None
    if len(effects) >= 2:
        result = pool(effects, method="REML", hksj=True, measure=measure or "GEN")
        method = (
            f"random effects, REML tau^2, Hartung-Knapp-Sidik-Jonkman interval (t, {len(effects) - 1} df)"
        )
    elif len(effects) == 1:
        result = pool(effects, method="REML", measure=measure or "GEN")
        method = "one verified trial: its own estimate and 95% CI (nothing to pool; HKSJ needs 2 or more)"
    else:
        method = "no verified trial with numbers: nothing to show"
    published = tuple(
        _published(trials, key, c) for key, c in trials.checks.items() if c["outcome"] == outcome
    )
    return OutcomeSummary(
        outcome=outcome,
        title=trials.outcomes[outcome],
        measure=measure,
        studies=tuple(e.study for e in effects),
        effects=tuple(effects),
        result=result,
        method=method,
        not_pooled=tuple(not_pooled),
        published=published,
        read_in=tuple(read_in),
    )


def summarize_all(trials: Trials) -> list[OutcomeSummary]:
    """``summarize`` for every outcome, in the file's order."""
    return [summarize(trials, outcome) for outcome in trials.outcomes]
