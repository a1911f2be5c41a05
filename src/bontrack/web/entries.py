"""Lists as a person reads them on the chart: each entry once, and no more than a glance holds.

A screening may hold the same medicine many times ("ibuprofen", "Ibuprofen ") and, in records
stored before lists had a maximum, thousands of entries; the chart shows each entry once (case
and spacing ignored, the first spelling kept, in the order entered) and at most ``limit`` of
them, then "and N more". What must not be missed (a flagged medicine, a known allergy) is
always shown, however many there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

SHOWN_AT_MOST = 20  # entries of one list on the chart's banner or in one timeline line


def once_each(names: Iterable[str]) -> list[str]:
    """Each entry once, case and spacing ignored, in the order entered (the first spelling kept).

    >>> once_each(["Ibuprofen", "ibuprofen ", "IBUPROFEN", "warfarin  5 mg", "Warfarin 5 mg"])
    ['Ibuprofen', 'warfarin 5 mg']
    """
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(" ".join(name.lower().split()), " ".join(name.split()))
    return list(seen.values())


def at_most(
    items: list[T], limit: int = SHOWN_AT_MOST, *, always: Callable[[T], bool] = lambda _item: False
) -> tuple[list[T], int]:
    """The items to show, in their order, and how many more there are: every item ``always``
    keeps, then the others until ``limit`` items are shown.

    >>> at_most(list(range(30)), 5, always=lambda n: n == 29)
    ([0, 1, 2, 3, 29], 25)
    """
    kept = sum(1 for item in items if always(item))
    room = max(0, limit - kept)
    shown = []
    for item in items:
        if always(item):
            shown.append(item)
        elif room:
            shown.append(item)
            room -= 1
    return shown, len(items) - len(shown)
