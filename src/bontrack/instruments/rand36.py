"""RAND 36-Item Health Survey 1.0, scored with RAND's public rules.

Rules (knowledge source ``rand36_scoring``, RAND's scoring instructions):

- Step 1: recode each response to 0-100 with RAND's Table 1, so that higher is always better
  (the ``value`` of each option in ``definitions/rand36.toml``);
- Step 2: each scale is the mean of the recoded items it holds (Table 2); items left blank are
  not counted, so a scale is the mean of its answered items; with none answered it is null.

Scales: ``physical_functioning``, ``role_physical``, ``role_emotional``, ``energy_fatigue``,
``emotional_wellbeing`` (read as "Mental health"), ``social_functioning``, ``pain`` (read as
"Bodily pain"), ``general_health``, and item 2 alone as ``health_change``. All 0-100, higher is
better. Worked example (``sf36_scoring_example``): energy items 23=4, 27=3, 29=3, 31 blank ->
(40 + 60 + 40) / 3 = 46.7.
"""

from __future__ import annotations

from collections.abc import Mapping

from bontrack.instruments.answers import check_answers, missing_items
from bontrack.instruments.definitions import Definition, exact_sum, load_definition
from bontrack.instruments.result import ScoreResult


def score_rand36(answers: Mapping[str, object], definition: Definition | None = None) -> ScoreResult:
    """Score a RAND-36 form: the eight scales and ``health_change``, each 0-100 or None.

    Parameters
    ----------
    answers : Mapping[str, object]
        ``{"1": code, ..., "36": code}``; codes count from 1 as printed on the form; blank
        items absent or None.
    definition : Definition, optional
        Defaults to the packaged ``rand36`` definition.

    Examples
    --------
    >>> score_rand36({"23": 4, "27": 3, "29": 3}).scores["energy_fatigue"]
    46.666666666666664
    """
    d = definition or load_definition("rand36")
    answered = check_answers(d, answers)
    scores: dict[str, float | None] = {}
    for name, scale in d.scores.items():
        values = [d.item(n).exact_values[answered[n]] for n in scale.items if n in answered]
        total = exact_sum(values)
        # the exact mean, rounded once: int / int is correctly rounded, as float(Fraction) is
        scores[name] = total.numerator / (total.denominator * len(values)) if values else None
    empty = [name for name, value in scores.items() if value is None]
    return ScoreResult(
        instrument=d.id,
        scores=scores,
        answered=len(answered),
        missing=missing_items(d, answered),
        reason=f"no answered items for: {', '.join(empty)}" if empty else None,
    )
