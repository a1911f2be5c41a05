"""The one check of an injection or examination site: a muscle and a side the knowledge base knows."""

from __future__ import annotations

from bontrack.errors import FieldError
from bontrack.knowledge.loader import KnowledgeBase


def muscle_side_errors(kb: KnowledgeBase, field: str, muscle: str, side: str) -> list[FieldError]:
    """Errors naming ``<field>.muscle`` and ``<field>.side`` with what is allowed (none if both known)."""
    errors = []
    if kb.muscle(muscle) is None:
        errors.append(
            FieldError(
                f"{field}.muscle", f"unknown muscle {muscle!r}; allowed: {', '.join(kb.files.muscles)}"
            )
        )
    if side not in kb.files.sides:
        errors.append(
            FieldError(f"{field}.side", f"unknown side {side!r}; allowed: {', '.join(kb.files.sides)}")
        )
    return errors
