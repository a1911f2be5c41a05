"""HTML forms to service input and back: nested field names, inline errors, all-or-nothing saves.

Inputs are named by the path of the field in the service's schema (``sites[0].units``,
``override.reason``), the same paths the services and the API name in their errors, so an error
lands next to the input it is about, on the server-rendered page and in the live check alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bontrack.errors import InputError
from bontrack.web.plain import sentence

T = TypeVar("T")
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(name: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _PART.findall(name)]


def nest(fields: Iterable[tuple[str, str]], *, lists: Iterable[str] = ()) -> dict[str, Any]:
    """Flat form fields as a nested document; blank fields are left out (the schema's default).

    ``lists`` names fields given once per line in a textarea (medications, goals).

    >>> nest([("a.b", "1"), ("s[1].u", "2"), ("s[0].u", ""), ("s[0].m", "x"), ("c", "")])
    {'a': {'b': '1'}, 's': [{'m': 'x'}, {'u': '2'}]}
    """
    line_fields = set(lists)
    root: dict[str, Any] = {}
    for name, raw in fields:
        value: Any = raw.strip()
        if name in line_fields:
            value = [line.strip() for line in raw.splitlines() if line.strip()]
        elif value == "":
            continue
        node: Any = root
        parts = _parts(name)
        if not parts:
            continue
        for part, following in pairwise(parts):
            empty: Any = [] if isinstance(following, int) else {}
            if isinstance(part, int):
                while len(node) <= part:
                    node.append(None)
                if node[part] is None:
                    node[part] = empty
                node = node[part]
            else:
                node = node.setdefault(part, empty)
        last = parts[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
            node[last] = value
        else:
            node[last] = value
    compact: dict[str, Any] = _drop_gaps(root)
    return compact


def _drop_gaps(node: Any) -> Any:
    """Rows left wholly blank (a spare site row) are dropped, so indices close up."""
    if isinstance(node, dict):
        return {k: _drop_gaps(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_drop_gaps(v) for v in node if v not in (None, {}, [])]
    return node


def field_errors(exc: InputError, labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Errors by field path, each a sentence naming the field by its label (bontrack.web.plain);
    several on one field are joined."""
    out: dict[str, str] = {}
    for error in exc.errors:
        text = sentence(error.field, error.message, labels)
        out[error.field] = f"{out[error.field]} {text}" if error.field in out else text
    return out


def all_or_nothing(db: Session, write: Callable[[], T]) -> T:
    """Run a write in a savepoint: if it raises, none of it is kept, and reads before it stay audited."""
    with db.begin_nested():
        return write()


def answer_codes(answers: dict[str, Any]) -> dict[str, Any]:
    """Form answers as the scorers take them: a chosen code as a whole number (text left as
    typed, so the scorer can say what is wrong with it)."""
    out: dict[str, Any] = {}
    for item, value in answers.items():
        text = str(value).strip()
        out[item] = int(text) if text.lstrip("-").isdigit() else value
    return out
