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
# A posted form carries at most this many fields (bontrack.web.views.common.form_items reads it
# with this limit; Starlette answers 400 beyond it). Every form posts each of its rows, blank
# ones too, numbered from 0 (session_form.js numbers an added row after the last), so no form
# has a row numbered this high: the bound of a row number, whatever the list.
MAX_FORM_FIELDS = 1000
# The deepest field a form names has 4 parts (tp.<muscle>.<side>.<criterion>); a name of more
# is no form's, and a deep document would only cost recursion further on.
MAX_PARTS = 8
_KEY = r"[^.\[\]]+"
_NAME = re.compile(rf"{_KEY}(?:\.{_KEY}|\[[0-9]+\])*")
_PART = re.compile(rf"\.?({_KEY})|\[([0-9]+)\]")
_SHOWN = 80  # characters of a posted name quoted back in an error


class _Rows(dict[int, Any]):
    """A list while it is being filled in: rows by their number, so a row number costs nothing
    however high it is (the rows close up when the document is done)."""


def _shape(node: object) -> str:
    if isinstance(node, _Rows):
        return "numbered rows"
    return "named parts" if isinstance(node, dict) else "one value"


def _shown(name: str) -> str:
    return repr(name if len(name) <= _SHOWN else name[:_SHOWN] + "...")


def _path(path: str, part: str | int) -> str:
    return f"{path}[{part}]" if isinstance(part, int) else (f"{path}.{part}" if path else part)


def _parts(name: str) -> list[str | int]:
    """The parts of a field name (``sites[0].units`` -> sites, 0, units), or InputError naming
    the field: a row number that is not one of 0 to MAX_FORM_FIELDS - 1, or a name no form uses."""
    start = _NAME.match(name)
    if start is None:  # no name to begin with: "[0]", ".x", ""
        raise InputError.one("(document)", f"a field named {_shown(name)} is not a field of this form")
    rest = name[start.end() :]
    if rest.startswith("["):  # sites[-1], sites[x]
        raise _rows(start.group(), name)
    parts: list[str | int] = []
    for found in [] if rest else _PART.finditer(name):
        key, index = found.groups()
        # the digits' length first: int() of thousands of digits is slow, or refused
        if index and (len(index.lstrip("0")) > len(str(MAX_FORM_FIELDS)) or int(index) >= MAX_FORM_FIELDS):
            raise _rows(_path_of(parts), name)
        parts.append(int(index) if index else key)
        if len(parts) > MAX_PARTS:
            break
    if rest or len(parts) > MAX_PARTS:  # a..b, a[0]b, a]
        raise InputError.one(name[:_SHOWN], f"is not a field of this form (got {_shown(name)})")
    return parts


def _rows(path: str, name: str) -> InputError:
    return InputError.one(
        path, f"must have rows numbered from 0 to {MAX_FORM_FIELDS - 1} (got {_shown(name)})"
    )


def _path_of(parts: Iterable[str | int]) -> str:
    path = ""
    for part in parts:
        path = _path(path, part)
    return path


def _conflict(path: str, given: object, wanted: object, name: str) -> InputError:
    both = f"not both as {_shape(given)} and as {_shape(wanted)}"
    return InputError.one(path, f"must be given one way, {both} (got {_shown(name)})")


def nest(fields: Iterable[tuple[str, str]], *, lists: Iterable[str] = ()) -> dict[str, Any]:
    """Flat form fields as a nested document; blank fields are left out (the schema's default).

    ``lists`` names fields given once per line in a textarea (medications, goals). A name whose
    shape does not fit another's (a value and rows or named parts under one name, rows where
    named parts are, a row number out of 0 to MAX_FORM_FIELDS - 1) raises InputError naming the
    field, before anything is built on it: such a form is none of ours (the app answers 400).

    >>> nest([("a.b", "1"), ("s[1].u", "2"), ("s[0].u", ""), ("s[0].m", "x"), ("c", "")])
    {'a': {'b': '1'}, 's': [{'m': 'x'}, {'u': '2'}]}
    >>> try:
    ...     nest([("a", "1"), ("a[0]", "2")])
    ... except InputError as exc:
    ...     print(exc.errors[0])
    a: must be given one way, not both as one value and as numbered rows (got 'a[0]')
    """
    line_fields = set(lists)
    root: dict[Any, Any] = {}
    for name, raw in fields:
        parts = _parts(name)
        value: Any = raw.strip()
        if name in line_fields:
            value = [line.strip() for line in raw.splitlines() if line.strip()]
        elif value == "":
            continue
        node, path = root, ""
        for part, following in pairwise(parts):
            path = _path(path, part)
            wanted: dict[Any, Any] = _Rows() if isinstance(following, int) else {}
            child = node.setdefault(part, wanted)
            if type(child) is not type(wanted):  # a value, or rows where named parts are (or the reverse)
                raise _conflict(path, child, wanted, name)
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            raise _conflict(_path(path, last), node[last], value, name)
        node[last] = value
    compact: dict[str, Any] = _close_up(root)
    return compact


def _close_up(node: Any) -> Any:
    """Rows in the order of their numbers, the numbers closed up (a spare site row left blank is
    not there at all)."""
    if isinstance(node, _Rows):
        return [_close_up(node[i]) for i in sorted(node)]
    if isinstance(node, dict):
        return {k: _close_up(v) for k, v in node.items()}
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


def section(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The named parts under ``key`` ({} when none were given), for a face that reads a part by
    name; a value or rows there instead is InputError naming ``key``."""
    found = doc.get(key)
    if found is None or isinstance(found, Mapping):
        return found or {}
    raise InputError.one(key, f"must be given in named parts, as {key}.<part> (got {found!r:.{_SHOWN}})")


def answer_codes(answers: object, field: str = "answers") -> dict[str, Any]:
    """Form answers as the scorers take them: a chosen code as a whole number (text left as
    typed, so the scorer can say what is wrong with it). ``answers`` is what ``nest`` made of the
    fields under ``field`` (None: none given); rows or one value there is InputError naming it."""
    if answers is not None and not isinstance(answers, Mapping):
        by_number = f"must be given by question number, as {field}.1, {field}.2 and so on"
        raise InputError.one(field, f"{by_number} (got {answers!r:.{_SHOWN}})")
    out: dict[str, Any] = {}
    for item, value in (answers or {}).items():
        text = str(value).strip()
        out[item] = int(text) if text.lstrip("-").isdigit() else value
    return out
