"""The single entry point: score any instrument by id."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bontrack.instruments.answers import InstrumentError
from bontrack.instruments.definitions import INSTRUMENT_IDS, Definition
from bontrack.instruments.ndi import score_ndi
from bontrack.instruments.nprs import score_nprs
from bontrack.instruments.rand36 import score_rand36
from bontrack.instruments.result import ScoreResult
from bontrack.instruments.vas import score_vas

Scorer = Callable[[Mapping[str, object], Definition | None], ScoreResult]

SCORERS: dict[str, Scorer] = {
    "nprs": score_nprs,
    "vas": score_vas,
    "ndi": score_ndi,
    "rand36": score_rand36,
}


def score(instrument_id: str, answers: Mapping[str, object]) -> ScoreResult:
    """Score one completed form.

    Parameters
    ----------
    instrument_id : str
        One of ``nprs``, ``vas``, ``ndi``, ``rand36``.
    answers : Mapping[str, object]
        Item number as a string -> response code as printed on the form; blank: absent or None.

    Raises
    ------
    InstrumentError
        Unknown instrument; ``AnswerError`` (a subclass) for answers that do not fit the form.

    Examples
    --------
    >>> score("ndi", {str(n): 1 for n in range(1, 11)}).band
    'mild'
    """
    if instrument_id not in SCORERS:
        raise InstrumentError(
            f"unknown instrument '{instrument_id}'; choose one of {', '.join(INSTRUMENT_IDS)}"
        )
    return SCORERS[instrument_id](answers, None)
