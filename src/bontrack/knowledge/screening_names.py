"""Which of the knowledge base's allergies (or conditions) a screening entry names, as the
clinician or the EHR wrote it: the one rule of every face (``bontrack check`` and the decision
engine, the API and the screening form, the FHIR import, the chart).

The rule: a name the knowledge base gives the item (its id, an alias, and for an allergy a
botulinum toxin product's name, id or brand, which means the toxin) standing as whole words
anywhere in the entry, in any case, punctuation ignored. "Botox (hives)", "milk (anaphylaxis)",
"Albumin (Human)", "ALBUMIN HUMAN", "albumin, human" and "HSA" are read as the allergy they
name; "Amoxicillin" names none, and is "not in the knowledge base" (the clinician checks it).
An entry may name more than one ("milk, albumin"). Whole words only: "Botoxin" is not Botox.

Pure: what an entry names depends only on its text and the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bontrack.knowledge.loader import KnowledgeBase, ScreeningMatch
from bontrack.knowledge.models import ScreeningItem

# Apostrophes join ("cow's" is "cows", as screening_key reads it); any other character that is
# not a letter or a digit separates ("albumin, human", "Albumin (Human)", "Dysport®", "anti-MG").
_JOIN = str.maketrans({"'": None, "\u2019": None})
_BREAK = re.compile(r"[\W_]+")


def entry_words(text: str) -> list[str]:
    """The entry's words, lower case: "Cow's milk (anaphylaxis)" -> ["cows", "milk", "anaphylaxis"]."""
    return _BREAK.sub(" ", text.lower().translate(_JOIN)).split()


def _longest(names: Iterable[str]) -> int:
    return max((len(entry_words(n.replace("_", " "))) for n in names), default=1)


def _named(entry: str, look_up: Callable[[str], ScreeningMatch | None], longest: int) -> list[ScreeningMatch]:
    """Every item a run of the entry's words is a name of, the longest name first at each place,
    each item once, in the order the entry names them."""
    words = entry_words(entry)
    found: dict[str, ScreeningMatch] = {}
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            match = look_up(" ".join(words[i : i + n]))
            if match is not None:
                found.setdefault(match.item_id, match)
                i += n
                break
        else:
            i += 1
    return list(found.values())


def _names_of(items: dict[str, ScreeningItem]) -> list[str]:
    return [name for item_id, item in items.items() for name in (item_id, *item.aliases)]


def allergies_named(entry: str, kb: KnowledgeBase) -> list[ScreeningMatch]:
    """The allergies the entry names (``KnowledgeBase.allergy`` of any run of its words).

    >>> from bontrack.knowledge import load_knowledge
    >>> kb = load_knowledge()
    >>> [m.item_id for m in allergies_named("Botox (hives)", kb)]
    ['botulinum_toxin']
    >>> [m.item_id for m in allergies_named("ALBUMIN HUMAN; milk", kb)]
    ['human_albumin', 'cows_milk_protein']
    >>> allergies_named("penicillin", kb)
    []
    """
    products = [n for pid, p in kb.files.products.items() for n in (pid, p.name, *p.brands)]
    return _named(entry, kb.allergy, _longest([*_names_of(kb.files.allergies), *products]))


def conditions_named(entry: str, kb: KnowledgeBase) -> list[ScreeningMatch]:
    """The conditions the entry names: "Myasthenia gravis (ocular)" -> myasthenia_gravis."""
    return _named(entry, kb.condition, _longest(_names_of(kb.files.conditions)))
