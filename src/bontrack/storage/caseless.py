"""A look-up value matched whatever the case of its letters: a patient's record number
("syn-000002" is the record number "SYN-000002").

``records.find_current(..., record_number=Caseless("syn-000002"))`` finds it through the column's
own index: the value's spellings (each letter in either case) are looked up together, so no
expression index (and no migration) is needed and the match is the same on SQLite and
PostgreSQL. A value of more than ten letters (over MAX_SPELLINGS spellings) is compared with
SQL's ``lower()`` instead, a scan of the clinic's records (SQLite's ``lower`` folds A-Z only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func

MAX_SPELLINGS = 1024  # ten letters


def _forms(character: str) -> tuple[str, ...]:
    """The character and its lower and upper case, each where it is one character ('ß' -> 'ß')."""
    return tuple(dict.fromkeys(f for f in (character, character.lower(), character.upper()) if len(f) == 1))


def case_key(text: str) -> str:
    """The text with each letter in lower case (where that is one character): the same for the
    spellings of one value (to group values, as ``bontrack import`` does)."""
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class Caseless:
    """A value to match whatever the case of its letters."""

    text: str

    def spellings(self) -> tuple[str, ...] | None:
        """Every way of writing the text that differs only in the case of its letters; None when
        there are more than MAX_SPELLINGS."""
        options = [_forms(c) for c in self.text]
        count = 1
        for forms in options:
            count *= len(forms)
            if count > MAX_SPELLINGS:
                return None
        return tuple("".join(spelling) for spelling in itertools.product(*options))

    def matches(self, value: object) -> bool:
        """Whether ``value`` is one of the spellings."""
        return (
            isinstance(value, str)
            and len(value) == len(self.text)
            and all(v in _forms(c) for v, c in zip(value, self.text, strict=True))
        )

    def condition(self, column: Any) -> ColumnElement[bool]:
        """The SQL condition on a text column."""
        spellings = self.spellings()
        if spellings is not None:
            return column.in_(spellings)  # type: ignore[no-any-return]
        return func.lower(column) == self.text.lower()


def matches(expected: object, value: object) -> bool:
    """Whether a stored value is what a look-up asks for (equal, or a Caseless match)."""
    return expected.matches(value) if isinstance(expected, Caseless) else bool(value == expected)
