"""The result of scoring one completed form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bontrack.instruments import SCORER_VERSION


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one form, with what was answered and, when a score is null, why.

    Attributes
    ----------
    instrument : str
        Instrument id (``nprs``, ``vas``, ``ndi``, ``rand36``).
    scores : Mapping[str, float | None]
        Score name to value, in the units of the instrument definition; None when not scorable.
    answered : int
        Number of items answered.
    missing : tuple[int, ...]
        Item numbers left blank, ascending.
    band : str | None
        Severity band of the banded score (NDI: Vernon's bands), when the instrument has bands.
    reason : str | None
        Why one or more scores are None.
    scorer_version : str
        ``SCORER_VERSION`` at the time of scoring.
    """

    instrument: str
    scores: Mapping[str, float | None]
    answered: int
    missing: tuple[int, ...]
    band: str | None = None
    reason: str | None = None
    scorer_version: str = SCORER_VERSION

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict; keys in a stable order."""
        return {
            "instrument": self.instrument,
            "scores": dict(self.scores),
            "answered": self.answered,
            "missing": list(self.missing),
            "band": self.band,
            "reason": self.reason,
            "scorer_version": self.scorer_version,
        }
