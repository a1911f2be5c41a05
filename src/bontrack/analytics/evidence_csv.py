"""Read study rows for pooling from CSV text and turn them into effect sizes.

A file has a ``study`` column and exactly one of three column sets:

- ``yi,vi``: effects already computed (ratio measures on the log scale);
- ``events_treat,n_treat,events_ctrl,n_ctrl``: counts, pooled as RR (default) or OR;
- ``mean_treat,sd_treat,n_treat,mean_ctrl,sd_ctrl,n_ctrl``: pooled as SMD (default) or MD.

Impossible rows (events above n or below 0, an SD or variance that is not positive, fewer than
1 patient per arm, or fewer than 2 where an SD is given) raise ``EvidenceInputError`` naming the
line, the study and the column. Only the standard library is used here.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from bontrack.analytics.effect_sizes import (
    MEASURES,
    EffectSize,
    log_odds_ratio,
    log_risk_ratio,
    mean_difference,
    smd,
)

GENERIC = ("yi", "vi")
EVENTS = ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
MEANS = ("mean_treat", "sd_treat", "n_treat", "mean_ctrl", "sd_ctrl", "n_ctrl")
FORMS: dict[str, tuple[str, ...]] = {"yi,vi": GENERIC, "events": EVENTS, "means": MEANS}
DEFAULT_MEASURE = {"yi,vi": "GEN", "events": "RR", "means": "SMD"}
ALLOWED_MEASURES = {"yi,vi": MEASURES, "events": ("RR", "OR"), "means": ("SMD", "MD")}


class EvidenceInputError(ValueError):
    """The CSV cannot be pooled; the message names the line and column and says what is allowed."""


@dataclass(frozen=True)
class StudyTable:
    """Effect sizes read from a CSV, with the input form and measure they were computed as."""

    effects: tuple[EffectSize, ...]
    form: str
    measure: str


def _form(columns: list[str]) -> str:
    present = set(columns)
    if "study" not in present:
        raise EvidenceInputError(f"the CSV needs a 'study' column; its columns are: {', '.join(columns)}")
    complete = [name for name, needed in FORMS.items() if set(needed) <= present]
    if len(complete) > 1:
        raise EvidenceInputError(
            f"the CSV has columns for more than one input form ({' and '.join(complete)}); keep one"
        )
    if complete:
        return complete[0]
    best = max(FORMS, key=lambda name: len(set(FORMS[name]) & present))
    missing = [c for c in FORMS[best] if c not in present]
    raise EvidenceInputError(
        "the CSV needs study plus one of: yi,vi | events_treat,n_treat,events_ctrl,n_ctrl | "
        "mean_treat,sd_treat,n_treat,mean_ctrl,sd_ctrl,n_ctrl"
        + (f"; missing for the {best} form: {', '.join(missing)}" if set(FORMS[best]) & present else "")
    )


def _number(row: dict[str, str], column: str, where: str) -> float:
    text = (row.get(column) or "").strip()
    if not text:
        raise EvidenceInputError(f"{where}, column {column}: empty; a number is required")
    try:
        value = float(text)
    except ValueError:
        raise EvidenceInputError(f"{where}, column {column}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise EvidenceInputError(f"{where}, column {column}: {text!r} is not a finite number")
    return value


def _count(row: dict[str, str], column: str, where: str, minimum: int) -> float:
    value = _number(row, column, where)
    if value != int(value) or value < minimum:
        raise EvidenceInputError(
            f"{where}, column {column}: must be a whole number >= {minimum}, got {value:g}"
        )
    return value


def _events(row: dict[str, str], where: str, calc: Callable[..., EffectSize]) -> EffectSize:
    values = {}
    for arm in ("treat", "ctrl"):
        n = _count(row, f"n_{arm}", where, 1)
        events = _count(row, f"events_{arm}", where, 0)
        if events > n:
            raise EvidenceInputError(
                f"{where}, column events_{arm}: {events:g} events is more than n_{arm} = {n:g}"
            )
        values[arm] = (events, n)
    return calc(row["study"].strip(), *values["treat"], *values["ctrl"])


def _means(row: dict[str, str], where: str, calc: Callable[..., EffectSize]) -> EffectSize:
    values: list[float] = []
    for arm in ("treat", "ctrl"):
        mean = _number(row, f"mean_{arm}", where)
        sd = _number(row, f"sd_{arm}", where)
        if sd <= 0:
            raise EvidenceInputError(f"{where}, column sd_{arm}: an SD must be above 0, got {sd:g}")
        n = _count(row, f"n_{arm}", where, 1)
        if n < 2:
            raise EvidenceInputError(f"{where}, column n_{arm}: an arm with an SD needs n >= 2, got {n:g}")
        values += [mean, sd, n]
    return calc(row["study"].strip(), *values)


def _generic(row: dict[str, str], where: str) -> EffectSize:
    yi = _number(row, "yi", where)
    vi = _number(row, "vi", where)
    if vi <= 0:
        raise EvidenceInputError(f"{where}, column vi: a sampling variance must be above 0, got {vi:g}")
    return EffectSize(row["study"].strip(), yi, vi)


def read_studies(text: str, measure: str | None = None) -> StudyTable:
    """Parse CSV text into effect sizes.

    Examples
    --------
    >>> t = read_studies("study,events_treat,n_treat,events_ctrl,n_ctrl\\nA,4,123,11,139\\n")
    >>> t.form, t.measure, round(t.effects[0].yi, 4)
    ('events', 'RR', -0.8893)
    >>> read_studies("study,events_treat,n_treat,events_ctrl,n_ctrl\\nA,9,5,1,5\\n")
    Traceback (most recent call last):
    ...
    bontrack.analytics.evidence_csv.EvidenceInputError: line 2 (study 'A'), column events_treat: 9 events is more than n_treat = 5
    """  # noqa: E501
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if not columns:
        raise EvidenceInputError("the CSV is empty; it needs a header row and one row per study")
    reader.fieldnames = columns
    form = _form(columns)
    chosen = (measure or DEFAULT_MEASURE[form]).upper()
    if chosen not in ALLOWED_MEASURES[form] and not (form == "yi,vi" and chosen == "GEN"):
        allowed = ", ".join(ALLOWED_MEASURES[form])
        raise EvidenceInputError(f"--measure {chosen} does not fit the {form} columns; allowed: {allowed}")
    calc_events = log_risk_ratio if chosen == "RR" else log_odds_ratio
    calc_means = smd if chosen == "SMD" else mean_difference
    effects: list[EffectSize] = []
    for row in reader:
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue
        study = (row.get("study") or "").strip()
        where = f"line {reader.line_num} (study {study!r})" if study else f"line {reader.line_num}"
        if not study:
            raise EvidenceInputError(f"{where}, column study: empty; every row needs a study name")
        if form == "events":
            effects.append(_events(row, where, calc_events))
        elif form == "means":
            effects.append(_means(row, where, calc_means))
        else:
            effects.append(_generic(row, where))
    if not effects:
        raise EvidenceInputError("the CSV has a header but no study rows")
    return StudyTable(tuple(effects), form, chosen)
