"""CSV cells a spreadsheet cannot run as formulas (OWASP "CSV injection").

Every CSV bontrack writes passes its cells through ``safe_cell``: text that begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return gets one leading apostrophe, so a spreadsheet
shows it as text instead of evaluating it. Numbers stay numbers: an int or float, and text that
is just a number (``-3.5``, ``+2``, ``1e-3``), are written as they are. Reading a value back:
remove one leading apostrophe from a text cell that begins with ``'`` followed by one of those
characters. No database, no web: the pure layers may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

DICTIONARY_NOTE = (
    "A text cell that begins with =, +, -, @, a tab or a carriage return is written with one "
    "leading apostrophe (') so that a spreadsheet shows it as text and never runs it as a formula "
    "(OWASP, CSV injection); remove that apostrophe to get the stored text. Numbers, negative ones "
    "included, are written as they are."
)


def safe_cell(value: Any) -> Any:
    """The value to hand to csv.writer: text neutralised as above, anything else unchanged."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
