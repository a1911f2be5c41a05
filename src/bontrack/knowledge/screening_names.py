"""Which of the knowledge base's allergies (or conditions) a screening entry names, as the
clinician or the EHR wrote it: the one rule of every face (``bontrack check`` and the decision
engine, the API and the screening form, the FHIR import, the chart).

The rule: a name the knowledge base gives the item (its id, an alias, and for an allergy a
botulinum toxin product's name, id or brand, which means the toxin) standing as whole words
anywhere in the entry, in any case, punctuation ignored. "Botox (hives)", "milk (anaphylaxis)",
"Albumin (Human)", "ALBUMIN HUMAN", "albumin, human" and "HSA" are read as the allergy they
name; "Amoxicillin" names none, and is "not in the knowledge base" (the clinician checks it).
An entry may name more than one ("milk, albumin"). Whole words only: "Botoxin" is not Botox.

A phrase the knowledge base lists as not the item although it contains its name (the item's
``not_when``: "milk thistle", a plant, and "coconut milk" are not cow's milk protein; "egg
albumin" is not human albumin), its words joined by spaces or hyphens only, names nothing: such
an entry gives no finding for that item. An entry that also names the item elsewhere still does
("milk thistle, cow's milk"), and so does one whose words are parted by other punctuation
("milk, thistle": milk and thistle).

Pure: what an entry names depends only on its text and the knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import pairwise

from bontrack.knowledge.loader import KnowledgeBase, ScreeningMatch
from bontrack.knowledge.models import ScreeningItem

# Apostrophes join ("cow's" is "cows", as screening_key reads it); any other character that is
# not a letter or a digit separates ("albumin, human", "Albumin (Human)", "Dysport®", "anti-MG").
_JOIN = str.maketrans({"'": None, "\u2019": None})
_BREAK = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]+")
# What may stand between the words of a phrase that is not the item ("coconut milk",
# "milk-thistle"): spaces and hyphens only. "milk, thistle" is two entries in one, and milk blocks.
_PHRASE_GAP = re.compile(r"[\s\-\u2010\u2011]+")

Look = Callable[[str], ScreeningMatch | None]
NotIt = Callable[[str], str | None]


def entry_words(text: str) -> list[str]:
    """The entry's words, lower case: "Cow's milk (anaphylaxis)" -> ["cows", "milk", "anaphylaxis"]."""
    return _BREAK.sub(" ", text.lower().translate(_JOIN)).split()


def _words_and_gaps(text: str) -> tuple[list[str], list[bool]]:
    """The entry's words (as ``entry_words``) and, for each word after the first, whether only
    spaces or hyphens stand between it and the word before (a phrase may run across it)."""
    joined = text.lower().translate(_JOIN)
    spans = list(_WORD.finditer(joined))
    gaps = [bool(_PHRASE_GAP.fullmatch(joined[a.end() : b.start()])) for a, b in pairwise(spans)]
    return [m.group() for m in spans], gaps


def _longest(names: Iterable[str]) -> int:
    return max((len(entry_words(n.replace("_", " "))) for n in names), default=1)


def _read(
    entry: str, look_up: Look, not_it: NotIt, longest: int
) -> tuple[list[ScreeningMatch], list[tuple[str, str]]]:
    """Every item a run of the entry's words is a name of, the longest name first at each place,
    each item once, in the order the entry names them; and each phrase the entry holds that is
    not an item although it contains its name ("coconut milk", "egg albumin": ``not_when``), with
    the item it is not. Such a phrase, its words joined by spaces or hyphens only, names nothing,
    however long or short the names inside it."""
    words, gaps = _words_and_gaps(entry)
    found: dict[str, ScreeningMatch] = {}
    not_found: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            run = " ".join(words[i : i + n])
            if all(gaps[i : i + n - 1]) and (is_not := not_it(run)) is not None:
                not_found.append((run, is_not))
                i += n
                break
            match = look_up(run)
            if match is not None:
                found.setdefault(match.item_id, match)
                i += n
                break
        else:
            i += 1
    return list(found.values()), not_found


def _names_of(items: dict[str, ScreeningItem]) -> list[str]:
    return [name for item_id, item in items.items() for name in (item_id, *item.aliases)]


def _phrases_of(items: dict[str, ScreeningItem]) -> list[str]:
    return [phrase for item in items.values() for phrase in item.not_when]


def _allergies(entry: str, kb: KnowledgeBase) -> tuple[list[ScreeningMatch], list[tuple[str, str]]]:
    products = [n for pid, p in kb.files.products.items() for n in (pid, p.name, *p.brands)]
    names = [*_names_of(kb.files.allergies), *products, *_phrases_of(kb.files.allergies)]
    return _read(entry, kb.allergy, kb.not_allergy, _longest(names))


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
    >>> allergies_named("coconut milk", kb)
    []
    """
    return _allergies(entry, kb)[0]


def allergies_not_named(entry: str, kb: KnowledgeBase) -> list[str]:
    """Why the entry's phrases that contain an allergy's name are not that allergy (``not_when``),
    each "phrase: reason", for a message saying why an entry names nothing.

    >>> from bontrack.knowledge import load_knowledge
    >>> allergies_not_named("Egg albumin (rash)", load_knowledge())
    ['egg albumin: ovalbumin, the protein of egg white; an egg allergy, not human albumin']
    """
    items = kb.files.allergies
    return [
        f"{p}: {why}" for run, item_id in _allergies(entry, kb)[1] for p, why in _phrase(items[item_id], run)
    ]


def _phrase(item: ScreeningItem, run: str) -> list[tuple[str, str]]:
    """The knowledge base's phrase whose words are ``run``, with its reason."""
    return [(p, why) for p, why in item.not_when.items() if " ".join(entry_words(p)) == run][:1]


def conditions_named(entry: str, kb: KnowledgeBase) -> list[ScreeningMatch]:
    """The conditions the entry names: "Myasthenia gravis (ocular)" -> myasthenia_gravis."""
    names = [*_names_of(kb.files.conditions), *_phrases_of(kb.files.conditions)]
    return _read(entry, kb.condition, kb.not_condition, _longest(names))[0]
