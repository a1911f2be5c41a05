"""Reading one medicine entry as the clinician wrote it: the botulinum toxins it names (a product
by its id, any other as ``UNNAMED_TOXIN``), the interacting drugs it names wherever they stand in
it, and whether the knowledge base knows it at all (``read_entry``). The screening rules
(bontrack.clinical.screening: ``screen_medications``, ``medication_flags``) judge what is read.

Pure: what an entry names depends only on its text and the knowledge base; each knowledge base
keeps what it has read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.loader import DrugMatch

# How a medicine entry is cut into words: trademark signs go, and list punctuation separates
# ("Aspirin, 81 mg", "aspirin/clopidogrel", "Coumadin®", "Plavix."). Hyphens stay inside a word,
# so "low-dose aspirin" finds aspirin but "aspirin-free Excedrin" does not.
_MARKS = str.maketrans({c: " " for c in "®™©*\"'"})
_BREAKS = re.compile(r"[/+,;:&()\[\]{}]")
_LONGEST_NAME_WORDS = 4  # "bayer aspirin", "polymyxin b", "coly-mycin m": names have at most 4 words
UNNAMED_TOXIN = "botulinum toxin"


def _words(name: str) -> list[str]:
    words = (w.strip(".") for w in _BREAKS.sub(" ", name.lower().translate(_MARKS)).split())
    return [w for w in words if w]


def _phrases(words: list[str]) -> list[str]:
    """Every run of up to 4 words, longest first at each position."""
    return [
        " ".join(words[i : i + n])
        for i in range(len(words))
        for n in range(min(_LONGEST_NAME_WORDS, len(words) - i), 0, -1)
    ]


def _toxins_named(words: list[str], kb: KnowledgeBase) -> set[str]:
    """Toxins an entry names: a product ("Botox 100 U", "Dysport®") by its id, any other
    botulinum toxin ("botulinum toxin", "Jeuveau": an alias of the botulinum-toxin allergy) as such."""
    found: set[str] = set()
    for phrase in _phrases(words):
        product = kb.product_id(phrase)
        if product is not None:
            found.add(product)
        else:
            allergy = kb.allergy(phrase)
            if allergy is not None and allergy.item_id == "botulinum_toxin":
                found.add(UNNAMED_TOXIN)
    if len(found) > 1:
        found.discard(UNNAMED_TOXIN)  # "Botox (botulinum toxin)" names one product
    return found


def _drugs_named(name: str, words: list[str], kb: KnowledgeBase) -> list[DrugMatch]:
    """The interacting drugs an entry names, wherever they stand in it: "Aspirin, 81 mg",
    "baby aspirin", "aspirin/clopidogrel" (both), "Coumadin®", "stopped warfarin" (the finding
    quotes the entry as written, so the clinician judges). The longest name wins at each place."""
    found: dict[tuple[str, str], DrugMatch] = {}
    whole = kb.drug(name)
    if whole is not None:
        found[(whole.class_id, whole.generic)] = whole
    i = 0
    while i < len(words):
        first = kb.drug(words[i])
        for n in range(min(_LONGEST_NAME_WORDS, len(words) - i), 0, -1):
            match = kb.drug(" ".join(words[i : i + n])) if n > 1 else first
            # kb.drug reads a phrase's first word when the whole is unknown: "aspirin clopidogrel"
            # would be aspirin alone; only a name of several words ("magnesium sulfate") counts.
            if match is not None and (n == 1 or match != first):
                found.setdefault((match.class_id, match.generic), match)
                i += n
                break
        else:
            i += 1
    return list(found.values())


@dataclass(frozen=True)
class EntryRead:
    """What one medicine entry names: toxins, else interacting drugs, else whether it is known."""

    toxins: frozenset[str]
    drugs: tuple[DrugMatch, ...]
    known: bool


# Reading an entry is pure, and clinics write the same few medicines over and over: each
# knowledge base keeps what it has read (the cache holds the knowledge base itself, so an id is
# never reused while cached; a new knowledge base starts afresh).
_READ_CACHE: dict[int, tuple[KnowledgeBase, dict[str, EntryRead]]] = {}
_READ_CACHE_MAX = 10_000


def read_entry(name: str, kb: KnowledgeBase) -> EntryRead:
    """What the entry ``name`` names, as read once for this knowledge base."""
    held = _READ_CACHE.get(id(kb))
    if held is None or held[0] is not kb:
        _READ_CACHE.clear()
        held = _READ_CACHE[id(kb)] = (kb, {})
    cache = held[1]
    read = cache.get(name)
    if read is None:
        words = _words(name)
        toxins = frozenset(_toxins_named(words, kb))
        drugs = tuple(_drugs_named(name, words, kb))  # "Botox, ibuprofen": both are read
        known = bool(toxins or drugs) or kb.drug_without_interaction(name) is not None
        read = EntryRead(toxins, drugs, known)
        if len(cache) >= _READ_CACHE_MAX:
            cache.clear()
        cache[name] = read
    return read
