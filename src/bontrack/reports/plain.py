"""The report as JSON data and as JSON text, fast and byte for byte what the slow way gives.

``plain(x)`` is ``finite(dataclasses.asdict(x))`` (NaN and infinity as None) in one pass;
``indented(x)`` is ``json.dumps(x, indent=2, ensure_ascii=False)``. With ``indent`` CPython's
json runs its pure-Python encoder, a call per value; here a list of scalars, or of rows of
scalars (the review list, the days of the duration curve), is written by the C encoder in one
call whose item separator is the newline and indentation of its items. Anything else is written
item by item, and what these fast paths do not know (a dict with non-text keys, a subclass, an
object json refuses) is handed to json itself, so the bytes cannot differ.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any

from bontrack.reports.sections.common import finite

_SCALARS = frozenset({str, int, bool, type(None)})  # copied as they are by asdict and finite
_JSON_SCALARS = _SCALARS | {float}


@dataclass(frozen=True)
class _Box:
    value: Any


@cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def plain(x: Any) -> Any:
    """``finite(asdict(x))`` of a dataclass (or of a value within one) in one pass: dicts,
    lists and the scalars as JSON takes them, each non-finite float as None (not inside a tuple,
    which ``finite`` leaves as it is)."""
    t = type(x)
    if t in _SCALARS:
        return x
    if t is float:
        return x if math.isfinite(x) else None
    if t is list:
        return _plain_list(x)
    if t is dict:
        return {k: plain(v) for k, v in x.items()}
    if is_dataclass(t):
        return {name: plain(getattr(x, name)) for name in _names(t)}
    return finite(asdict(_Box(x))["value"])  # a tuple, a subclass, any other object: the old way


def _plain_list(x: list[Any]) -> list[Any]:
    types = set(map(type, x))
    if types <= _SCALARS:
        return list(x)
    if types == {float} and math.isfinite(sum(x)):  # nan and inf stay in a sum (or it overflows)
        return list(x)
    if types == {tuple} and set(map(type, chain.from_iterable(x))) <= _JSON_SCALARS:
        return list(x)  # tuples of scalars: asdict copies them, finite leaves them as they are
    if len(types) == 1:
        (cls,) = types
        names = _names(cls) if is_dataclass(cls) else ()
        if len(names) > 1:  # rows of one dataclass: their values taken at once, as tuples
            rows = list(map(attrgetter(*names), x))
            inside = set(map(type, chain.from_iterable(rows)))
            if inside <= _SCALARS or (
                inside <= _JSON_SCALARS
                and math.isfinite(sum([v for v in chain.from_iterable(rows) if type(v) is float]))
            ):
                return [dict(zip(names, row, strict=True)) for row in rows]
    return [plain(v) for v in x]


@cache
def _encoder(pad: str) -> Callable[[Any], str]:
    """json's C encoder (no ``indent``) writing items apart by a newline and ``pad``."""
    return json.JSONEncoder(ensure_ascii=False, separators=(",\n" + pad, ": ")).encode


def indented(x: Any) -> str:
    """``json.dumps(x, indent=2, ensure_ascii=False)``, the same text, faster."""
    out: list[str] = []
    _write(x, 0, out)
    return "".join(out)


def _write(x: Any, level: int, out: list[str]) -> None:
    outer, inner = "  " * level, "  " * (level + 1)
    t = type(x)
    if t is dict and x and set(map(type, x)) == {str}:
        sep = "{\n"
        for k, v in x.items():
            out.append(sep + inner + json.encoder.encode_basestring(k) + ": ")
            _write(v, level + 1, out)
            sep = ",\n"
        out.append("\n" + outer + "}")
    elif (t is list or t is tuple) and x:
        types = set(map(type, x))
        if types <= _JSON_SCALARS:  # [a,\n<inner>b]
            out.append("[\n" + inner + _encoder(inner)(x)[1:-1] + "\n" + outer + "]")
        elif _rows_of_scalars(x, types):
            # [{..},\n<deeper>{..}]: at the rows' ends the separator is the outer one; a row's
            # own separators are followed by a key or a scalar, never by { or [, and no text
            # written by json holds a newline, so "},\n<deeper>{" is found only between rows
            deeper = inner + "  "
            text = _encoder(deeper)(x)
            close, open_ = text[-2], text[1]
            rows = text[2:-2].replace(
                close + ",\n" + deeper + open_, "\n" + inner + close + ",\n" + inner + open_ + "\n" + deeper
            )
            out.append(
                "[\n" + inner + open_ + "\n" + deeper + rows + "\n" + inner + close + "\n" + outer + "]"
            )
        else:
            sep = "[\n"
            for v in x:
                out.append(sep + inner)
                _write(v, level + 1, out)
                sep = ",\n"
            out.append("\n" + outer + "]")
    else:  # scalars, empty ones and anything unusual: json itself, every line indented as here
        out.append(json.dumps(x, indent=2, ensure_ascii=False).replace("\n", "\n" + outer))


def _rows_of_scalars(x: list[Any] | tuple[Any, ...], types: set[type]) -> bool:
    """Rows all dicts with text keys, or all lists or tuples, none empty, holding scalars only."""
    if not all(x):
        return False
    if types == {dict}:
        return (
            set(map(type, chain.from_iterable(x))) == {str}
            and set(map(type, chain.from_iterable(map(dict.values, x)))) <= _JSON_SCALARS
        )
    return types <= {list, tuple} and set(map(type, chain.from_iterable(x))) <= _JSON_SCALARS
