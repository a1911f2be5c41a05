"""Neck Disability Index (NDI; Vernon & Mior 1991).

Rules (knowledge sources ``vernon_ndi_scoring`` and ``noterro_ndi_scoring``):

- each of the 10 sections scores 0-5; the total is 0-50 and the percent is total x 2;
- a missing section is prorated: ``percent = sum / (5 x answered) x 100``, which equals adding
  the mean of the answered sections for each missing one (Vernon's advice), e.g. 16 points over
  9 sections -> 16/45 = 35.6 % (Noterro's guide prints 35.5 %, truncated);
- the prorated ``total`` on 0-50 is ``percent / 2``; ``raw_sum`` is the plain sum of the answers;
- with more missing sections than the definition's ``max_missing`` (2) the NDI is not scored;
- Vernon's bands on the 0-50 total: none 0-4, mild 5-14, moderate 15-24, severe 25-34,
  complete 35-50. A prorated total between two whole numbers takes the band of the lower one
  (each band starts at its lower bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from bontrack.instruments.answers import check_answers, missing_items
from bontrack.instruments.definitions import Definition, exact_sum, load_definition
from bontrack.instruments.result import ScoreResult


def score_ndi(answers: Mapping[str, object], definition: Definition | None = None) -> ScoreResult:
    """Score an NDI form: ``total`` (0-50), ``percent`` (0-100), ``raw_sum``; lower is better.

    Parameters
    ----------
    answers : Mapping[str, object]
        ``{"1": code, ..., "10": code}``; codes 0-5 as printed; blank items absent or None.
    definition : Definition, optional
        Defaults to the packaged ``ndi`` definition.

    Returns
    -------
    ScoreResult
        With ``band`` set to Vernon's band, or all scores None and ``reason`` when too many
        sections are missing.

    Examples
    --------
    >>> r = score_ndi({"1": 2, "2": 1, "3": 2, "4": 2, "5": 3, "6": 2, "7": 2, "8": 2, "9": 2,
    ...                "10": 2})
    >>> r.scores["total"], r.scores["percent"], r.band
    (20.0, 40.0, 'moderate')
    """
    d = definition or load_definition("ndi")
    answered = check_answers(d, answers)
    missing = missing_items(d, answered)
    assert d.scoring.max_missing is not None  # checked when the definition was loaded
    max_missing = int(d.scoring.max_missing.value)
    if len(missing) > max_missing:
        return ScoreResult(
            instrument=d.id,
            scores=dict.fromkeys(d.scores),
            answered=len(answered),
            missing=missing,
            reason=(
                f"{d.short_name} not scorable: {len(missing)} items missing "
                f"({', '.join(map(str, missing))}); at most {max_missing} can be prorated"
            ),
        )
    # Fractions keep the proration exact until the final conversion.
    raw_sum = exact_sum(d.item(n).exact_values[code] for n, code in answered.items())
    item_max = Fraction(d.max_item_value)
    percent = raw_sum / (item_max * len(answered)) * 100
    total = percent * item_max * len(d.items) / 100
    return ScoreResult(
        instrument=d.id,
        scores={"total": float(total), "percent": float(percent), "raw_sum": float(raw_sum)},
        answered=len(answered),
        missing=missing,
        band=d.band_for(float(total)).name if d.scoring.bands else None,
    )
