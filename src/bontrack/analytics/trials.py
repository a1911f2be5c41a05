"""The curated trials of BoNT against placebo (``knowledge/evidence_trials.toml``) as pool-ready CSV.

Every row names a ``source`` in ``knowledge/sources.toml`` and says ``where`` and what was
verified. Only rows with ``verified = true`` are printed unless unverified ones are asked for;
rows that lack the numbers of any input form (a percentage without counts) are never printed.
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bontrack.analytics.evidence_csv import EVENTS, MEANS
from bontrack.csv_cells import safe_cell

Z95 = 1.959963984540054
REQUIRED = ("id", "study", "outcome", "verified", "source", "where", "note")


class TrialDataError(ValueError):
    """The curated file is inconsistent, or the outcome asked for has no rows to print."""


@dataclass(frozen=True)
class Trials:
    outcomes: dict[str, str]
    rows: tuple[dict[str, Any], ...]
    checks: dict[str, dict[str, Any]]


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
    data = _read("evidence_trials.toml")
    sources = _read("sources.toml").get("sources", {})
    outcomes = {key: value["title"] for key, value in data.get("outcomes", {}).items()}
    rows = tuple(data.get("trials", []))
    for row in rows:
        missing = [key for key in REQUIRED if key not in row]
        if missing:
            raise TrialDataError(
                f"evidence_trials.toml, trial {row.get('id', '?')}: missing {', '.join(missing)}"
            )
        if row["source"] not in sources:
            raise TrialDataError(f"evidence_trials.toml, trial {row['id']}: unknown source {row['source']!r}")
    checks = data.get("checks", {})
    for key, check in checks.items():
        if check.get("source") not in sources:
            raise TrialDataError(f"evidence_trials.toml, check {key}: unknown source {check.get('source')!r}")
    return Trials(outcomes, rows, checks)


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
    chosen = [r for r in trials.rows if r["outcome"] == outcome and (r["verified"] or include_unverified)]
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
