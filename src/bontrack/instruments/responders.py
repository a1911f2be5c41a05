"""Change from baseline: absolute and percent change, IMMPACT responders and MCIDs.

Sign conventions
----------------
- ``change = followup - baseline`` and ``percent_change = change / baseline x 100`` keep the
  raw direction of the score (a fall in NPRS is negative).
- ``improvement`` is the change turned so that positive is better: ``baseline - followup`` for
  scores where lower is better (NPRS, VAS, NDI) and ``followup - baseline`` where higher is
  better (RAND-36 scales). The direction comes from the instrument definition (``better``).
- ``improvement_percent = improvement / baseline x 100``; responders have
  ``improvement_percent >= 30`` (moderate) or ``>= 50`` (substantial), the IMMPACT thresholds
  (Dworkin et al. 2008, knowledge ``outcomes.responder_thresholds``). At a zero baseline the
  percents and the responder flags are None.
- ``mcid_met`` is ``improvement >= MCID`` with the MCID from the knowledge base
  (``outcomes.mcid``: NPRS 2 points, Farrar 2001; NDI 5 points, Vernon); None where no MCID is
  adopted (VAS, RAND-36 pain), with the reason in ``notes``.

Arithmetic is done in decimals of the numbers as given, so that 7 -> 4.9 is exactly a 30%
improvement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from bontrack.instruments.answers import InstrumentError
from bontrack.instruments.definitions import INSTRUMENT_IDS, load_definition
from bontrack.knowledge import load_knowledge


@dataclass(frozen=True)
class Mcid:
    value: float | None
    unit: str
    citation: str
    note: str


@dataclass(frozen=True)
class Change:
    """The interpretation of one score's change from baseline to follow-up.

    Attributes
    ----------
    instrument, score : str
        Instrument id and score name (e.g. ``ndi``, ``total``).
    better : str
        ``lower`` or ``higher``: which direction is improvement.
    change, percent_change : float, float | None
        Raw ``followup - baseline`` and its percent of baseline (None at a zero baseline).
    improvement, improvement_percent : float, float | None
        The same, signed so that positive is better.
    moderate_percent, substantial_percent : float
        Responder thresholds in percent improvement (30 and 50).
    responder_moderate, responder_substantial : bool | None
        Whether the thresholds were reached; None at a zero baseline.
    mcid : Mcid | None
        The MCID adopted for this score, with its citation; None when the knowledge base has none.
    mcid_met : bool | None
        ``improvement >= mcid.value``; None without an MCID value.
    notes : tuple[str, ...]
        Why anything is None, and caveats.
    """

    instrument: str
    score: str
    better: str
    baseline: float
    followup: float
    change: float
    percent_change: float | None
    improvement: float
    improvement_percent: float | None
    moderate_percent: float
    substantial_percent: float
    responder_moderate: bool | None
    responder_substantial: bool | None
    mcid: Mcid | None
    mcid_met: bool | None
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready; the responder keys carry their thresholds (``responder_30``)."""
        return {
            "instrument": self.instrument,
            "score": self.score,
            "better": self.better,
            "baseline": self.baseline,
            "followup": self.followup,
            "change": self.change,
            "percent_change": self.percent_change,
            "improvement": self.improvement,
            "improvement_percent": self.improvement_percent,
            f"responder_{self.moderate_percent:g}": self.responder_moderate,
            f"responder_{self.substantial_percent:g}": self.responder_substantial,
            "mcid": None if self.mcid is None else vars(self.mcid),
            "mcid_met": self.mcid_met,
            "notes": list(self.notes),
        }


def _decimal(x: float) -> Decimal:
    # repr gives the shortest decimal that round-trips: 4.9 stays 4.9, not 4.9000000000000004.
    return Decimal(repr(float(x)))


def change_from_baseline(
    instrument_id: str, baseline: float, followup: float, score: str | None = None
) -> Change:
    """Interpret the change of one score between baseline and follow-up.

    Parameters
    ----------
    instrument_id : str
        ``nprs``, ``vas``, ``ndi`` or ``rand36``.
    baseline, followup : float
        Scores in the units of the instrument definition (NDI: the 0-50 total).
    score : str, optional
        Score name; defaults to the instrument's primary score (NPRS ``pain_intensity``, VAS
        ``pain_intensity_mm``, NDI ``total``, RAND-36 ``pain``).

    Raises
    ------
    InstrumentError
        Unknown instrument or score, or a value outside the score's range.

    Examples
    --------
    >>> c = change_from_baseline("nprs", 7, 3)
    >>> c.change, c.percent_change, c.responder_substantial, c.mcid_met
    (-4.0, -57.142857142857146, True, True)
    """
    if instrument_id not in INSTRUMENT_IDS:
        raise InstrumentError(
            f"unknown instrument '{instrument_id}'; choose one of {', '.join(INSTRUMENT_IDS)}"
        )
    definition = load_definition(instrument_id)
    name = score or definition.primary_score
    if name not in definition.scores:
        raise InstrumentError(
            f"{definition.short_name} has no score '{name}'; choose one of {', '.join(definition.scores)}"
        )
    spec = definition.scores[name]
    for label, value in (("baseline", baseline), ("followup", followup)):
        if not (math.isfinite(value) and spec.low <= value <= spec.high):
            raise InstrumentError(
                f"{definition.short_name} {name} {label} must be {spec.low:g}-{spec.high:g} "
                f"{spec.unit}, got {value}"
            )
    kb = load_knowledge()
    thresholds = kb.files.outcomes.responder_thresholds
    moderate = _decimal(thresholds.moderate_percent.value)
    substantial = _decimal(thresholds.substantial_percent.value)
    b, f = _decimal(baseline), _decimal(followup)
    change = f - b
    improvement = b - f if spec.better == "lower" else f - b
    notes: list[str] = []

    percent_change = improvement_percent = None
    responder_moderate = responder_substantial = None
    if b == 0:
        notes.append("baseline is 0: percent change and responder status are undefined")
    else:
        percent_change = float(change / b * 100)
        improvement_percent = float(improvement / b * 100)
        # Compare without dividing, so a threshold met exactly is met.
        responder_moderate = improvement * 100 >= moderate * b
        responder_substantial = improvement * 100 >= substantial * b
    if instrument_id not in thresholds.defined_for:
        notes.append(
            "IMMPACT's 30%/50% thresholds were set for pain intensity on the 0-10 NRS; "
            f"for {definition.short_name} {name} they are a convention"
        )

    fact = kb.files.outcomes.mcid.get(instrument_id, {}).get(name)
    mcid = None
    mcid_met = None
    if fact is None:
        notes.append(f"no MCID in the knowledge base for {definition.short_name} {name}")
    else:
        mcid = Mcid(fact.value, fact.unit, kb.cite(fact), fact.note)
        if fact.value is None:
            notes.append(f"no MCID adopted for {definition.short_name} {name}: {fact.note}")
        else:
            mcid_met = improvement >= _decimal(fact.value)

    return Change(
        instrument=instrument_id,
        score=name,
        better=spec.better,
        baseline=float(baseline),
        followup=float(followup),
        change=float(change),
        percent_change=percent_change,
        improvement=float(improvement),
        improvement_percent=improvement_percent,
        moderate_percent=float(moderate),
        substantial_percent=float(substantial),
        responder_moderate=responder_moderate,
        responder_substantial=responder_substantial,
        mcid=mcid,
        mcid_met=mcid_met,
        notes=tuple(notes),
    )
