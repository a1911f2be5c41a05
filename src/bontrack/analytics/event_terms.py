"""Adverse events written in free text, grouped as one event: the one rule every count uses.

The form asks for free text ("Type freely, or pick a reaction the product labels list"), so
"Dysphagia", "DYSPHAGIA " and "dysphagia" are one event, and so is "difficulty swallowing" when
the knowledge base names it as another name of the labels' "dysphagia". The rule (``event_key``):

1. Unicode NFKC: compatibility forms as their plain letters (a full-width "D" (U+FF24) as "D",
   the ligature "fi" (U+FB01) as two letters, "a" plus a combining diaeresis as the one "ä");
2. full Unicode case folding (``str.casefold``: the default rule, not the Turkic one): "ÄRGER"
   and "ärger" are one, "STRASSE" and "straße" too; "I" folds to "i", but the Turkish dotted
   "İ" (U+0130) to "i" followed by a combining dot above, so "İ" is neither "I" nor "i"
   (whichever is right depends on the language, which a free text does not say);
3. NFKC again (folding may undo it);
4. every run of white space (``str.isspace``: spaces, tabs, line breaks, the no-break space
   U+00A0, the ideographic space) as one space, none at either end.

A missing event (None, NaN) or one that is only white space has no key and is not counted.
Pure: no database, no files.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd


def event_key(text: str) -> str:
    """The event's key: two texts are one event exactly when their keys are equal.

    >>> event_key("  DYSPHAGIA\\t") == event_key("Dysphagia") == "dysphagia"
    True
    >>> event_key("Neck\\u00a0  PAIN"), event_key("ÄRGER"), event_key("Straße")
    ('neck pain', 'ärger', 'strasse')
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def written(text: str) -> str:
    """The text as written, its white space tidied (rule 4 only): how a row shows an event that
    no known reaction names."""
    return " ".join(text.split())


def known_names(names: Iterable[str], aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Each key (``event_key``) of a known reaction's name and of its other names, to the name.
    A key claimed by two reactions is an error (the knowledge base is inconsistent)."""
    out: dict[str, str] = {}
    pairs = [(n, n) for n in names] + [(a, n) for n, many in aliases.items() for a in many]
    for text, name in pairs:
        key = event_key(text)
        if not key:
            raise ValueError(f"{name!r}: an empty name")
        if out.setdefault(key, name) != name:
            raise ValueError(f"{text!r} names both {out[key]!r} and {name!r}")
    return out


@dataclass(frozen=True)
class EventGroups:
    """Each event's group (-1: none), and per group its key and the name its row shows, in the
    order of the keys."""

    codes: np.ndarray
    keys: list[str]
    names: list[str]


def event_groups(events: pd.Series | np.ndarray, known: Mapping[str, str]) -> EventGroups:
    """The events grouped by ``event_key``. A group a known reaction names (``known``, from
    ``known_names``) shows the reaction's name; any other shows its most common written form
    (``written``; between forms written as often, the first in code-point order)."""
    codes, uniques = pd.factorize(np.asarray(events, dtype=object))  # (each distinct text once)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques)).tolist()
    # each known key to its reaction's own key: "difficulty swallowing" is grouped as "dysphagia"
    own = {key: event_key(name) for key, name in known.items()}
    forms: dict[str, dict[str, int]] = {}  # per group's key: its written forms, each counted
    keys_of = []
    for text, count in zip(uniques, counts, strict=True):
        key = event_key(text) if isinstance(text, str) else ""
        key = own.get(key, key)
        keys_of.append(key)
        if key:
            form = forms.setdefault(key, {})
            form[written(text)] = form.get(written(text), 0) + count
    keys = sorted(forms)
    names = [known.get(k) or _most_common(forms[k]) for k in keys]
    place = {k: i for i, k in enumerate(keys)}
    group_of = np.array([place.get(k, -1) for k in keys_of] + [-1], dtype=np.int64)  # (-1: -1)
    return EventGroups(codes=group_of[codes], keys=keys, names=names)


def _most_common(forms: dict[str, int]) -> str:
    """The form written most often; between forms written as often, the first in code-point order."""
    return min(forms, key=lambda form: (-forms[form], form))
