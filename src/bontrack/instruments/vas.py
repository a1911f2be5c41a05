"""Visual analogue scale (VAS) for pain, 0-100 mm.

Source: the 100 mm pain VAS as used in chronic pain studies (REFERENCE.md 4.2; knowledge source
``vas_mcid_review``). The answer is the distance in whole millimetres from the "no pain" end.
"""

from __future__ import annotations

from collections.abc import Mapping

from bontrack.instruments.definitions import Definition, load_definition
from bontrack.instruments.result import ScoreResult
from bontrack.instruments.single import score_single_item


def score_vas(answers: Mapping[str, object], definition: Definition | None = None) -> ScoreResult:
    """Score a pain VAS: ``pain_intensity_mm`` is the mark's distance, 0-100 mm (lower is better).

    Parameters
    ----------
    answers : Mapping[str, object]
        ``{"1": millimetres}``; a whole number 0-100, or None when blank.
    definition : Definition, optional
        Defaults to the packaged ``vas`` definition.

    Examples
    --------
    >>> score_vas({"1": 63}).scores
    {'pain_intensity_mm': 63.0}
    """
    return score_single_item(definition or load_definition("vas"), answers)
