"""What every report section shares: the display thresholds and the small conversions to JSON-safe values."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bontrack.analytics.cycles import ResponseRule
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase

TRAJECTORY_MAX_CYCLES = 4
MIN_GROUP = 10
# A row with fewer judged cycles shows its counts only: no rate, no interval, no bar.
MIN_JUDGED = 10
TOO_FEW = "too few to estimate"


def value(x: Any) -> float | None:
    """A finite float, else None (no nan or inf leaves the report)."""
    if x is None or pd.isna(x):
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def finite(x: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite(v) for v in x]
    return x


def response_rule(kb: KnowledgeBase, instrument: str, score: str) -> ResponseRule:
    """How change in one score is judged: the direction from the instrument's definition
    (ScoreDef.better), the thresholds and MCID from the knowledge base."""
    better = load_definition(instrument).scores[score].better
    t = kb.files.outcomes.responder_thresholds
    mcid = kb.files.outcomes.mcid.get(instrument, {}).get(score)
    return ResponseRule(
        instrument=instrument,
        score=score,
        better=better,
        mcid=mcid.value if mcid is not None else None,
        moderate_percent=t.moderate_percent.value,
        substantial_percent=t.substantial_percent.value,
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with text keys (typed access for the sections' dataclasses)."""
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
