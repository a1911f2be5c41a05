"""Outcome instruments: definitions as data and pure scorers (NPRS, VAS, NDI, RAND-36).

``score(instrument_id, answers)`` is the single entry point; ``change_from_baseline`` interprets
a change (responders, MCID). Neither touches a database or a web framework.

The names below are imported lazily so that the command line (``bontrack score``) starts without
loading pydantic or the knowledge base until a command runs.

Examples
--------
>>> from bontrack.instruments import score
>>> score("nprs", {"1": 7}).scores
{'pain_intensity': 7.0}
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: Stored with every score. Bump it whenever a scoring rule or a definition file changes, so a
#: stored score can be traced to the rules that produced it.
SCORER_VERSION = "1.0.0"

if TYPE_CHECKING:
    from bontrack.instruments.answers import AnswerError, InstrumentError
    from bontrack.instruments.definitions import INSTRUMENT_IDS, Definition, load_definition
    from bontrack.instruments.responders import Change, change_from_baseline
    from bontrack.instruments.result import ScoreResult
    from bontrack.instruments.scoring import score

_LAZY = {
    "AnswerError": "answers",
    "InstrumentError": "answers",
    "INSTRUMENT_IDS": "definitions",
    "Definition": "definitions",
    "load_definition": "definitions",
    "Change": "responders",
    "change_from_baseline": "responders",
    "ScoreResult": "result",
    "score": "scoring",
}

__all__ = [
    "INSTRUMENT_IDS",
    "SCORER_VERSION",
    "AnswerError",
    "Change",
    "Definition",
    "InstrumentError",
    "ScoreResult",
    "change_from_baseline",
    "load_definition",
    "score",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value  # resolved once: later look-ups do not come back here
    return value
