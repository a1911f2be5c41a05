"""Scoring for one-item instruments (NPRS, VAS): the score is the answer's value."""

from __future__ import annotations

from collections.abc import Mapping

from bontrack.instruments.answers import check_answers, missing_items
from bontrack.instruments.definitions import Definition
from bontrack.instruments.result import ScoreResult


def score_single_item(definition: Definition, answers: Mapping[str, object]) -> ScoreResult:
    """Score a one-item form; a blank form gives a null score and says so."""
    answered = check_answers(definition, answers)
    (name,) = definition.scores
    item = definition.item(1)
    value = item.value_of(answered[1]) if 1 in answered else None
    return ScoreResult(
        instrument=definition.id,
        scores={name: value},
        answered=len(answered),
        missing=missing_items(definition, answered),
        reason=None if value is not None else f"{definition.short_name} item 1 is blank",
    )
