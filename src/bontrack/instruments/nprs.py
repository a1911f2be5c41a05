"""Numeric Pain Rating Scale (NPRS), 0-10.

Source: the 11-point pain intensity numerical rating scale, 0 = no pain, 10 = worst possible
pain (Farrar et al. 2001, Pain 94:149-158; knowledge source ``farrar_2001``).
"""

from __future__ import annotations

from collections.abc import Mapping

from bontrack.instruments.definitions import Definition, load_definition
from bontrack.instruments.result import ScoreResult
from bontrack.instruments.single import score_single_item


def score_nprs(answers: Mapping[str, object], definition: Definition | None = None) -> ScoreResult:
    """Score an NPRS form: ``pain_intensity`` is the number chosen, 0-10 (lower is better).

    Parameters
    ----------
    answers : Mapping[str, object]
        ``{"1": code}``; code is a whole number 0-10, or None when blank.
    definition : Definition, optional
        Defaults to the packaged ``nprs`` definition.

    Examples
    --------
    >>> score_nprs({"1": 7}).scores
    {'pain_intensity': 7.0}
    """
    return score_single_item(definition or load_definition("nprs"), answers)
