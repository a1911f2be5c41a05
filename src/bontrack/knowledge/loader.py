"""Load and validate the knowledge base shipped inside the package.

The files are read once per process (``load_knowledge``); any schema or cross-reference error
stops loading with a message naming the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from bontrack.knowledge.checks import reference_problems, sourced_facts
from bontrack.knowledge.citing import citation_for, screening_facts
from bontrack.knowledge.models import (
    DrugClass,
    KnowledgeFiles,
    Muscle,
    Product,
    ProductSourced,
    ScreeningItem,
    Sourced,
)

FILES = (
    "meta",
    "sources",
    "products",
    "muscles",
    "screening",
    "medications_no_interaction",
    "pathway",
    "outcomes",
    "adverse_events",
)

# Words that may follow a medicine's name without naming another medicine: units, forms,
# release types and how often it is taken ("Lipitor 20 mg tablet once daily", "Tylenol ER").
# A word outside this list (or "and", "with", "+", ...) may be a second medicine, so a
# no-interaction look-up that would have to ignore it answers None rather than stay silent.
_DOSE_TEXT = """
    mg mcg µg ug g gm gram grams ml l iu u unit units meq mmol % mg/ml mcg/ml mg/day
    tab tabs tablet tablets cap caps capsule capsules pill pills puff puffs inhaler inhalers
    inhalation spray sprays nasal drop drops cream gel patch patches pen injection injections
    oral po sc subcut subcutaneous im iv liquid syrup suspension solution solutions chewable
    er xr sr cr xl la ec dr mr ods odt retard extended delayed release modified
    regular extra strength forte
    od bd bid tid qid qd qds tds prn qhs hs qam qpm nocte mane
    once twice thrice daily weekly monthly a an per day days week weeks month every each other
    morning evening night nightly bedtime at in the as needed required when times x
"""
_DOSE_WORDS = frozenset(_DOSE_TEXT.split())


class KnowledgeError(Exception):
    """The knowledge base on disk is inconsistent; the message says where."""


@dataclass(frozen=True)
class DrugMatch:
    class_id: str
    drug_class: DrugClass
    generic: str


def screening_key(name: str) -> str:
    """How people's spellings of a condition or allergy are matched: "Cow's milk" -> cows_milk."""
    return "_".join(name.strip().lower().replace("'", "").replace("-", " ").split())


@dataclass(frozen=True)
class ScreeningMatch:
    item_id: str
    item: ScreeningItem


@dataclass(frozen=True)
class KnowledgeBase:
    """Validated knowledge with case-insensitive look-ups by id, brand and drug name."""

    files: KnowledgeFiles
    _product_ids: dict[str, str] = field(repr=False)
    _drugs: dict[str, DrugMatch] = field(repr=False)
    _citations: dict[int, str] = field(repr=False, default_factory=dict)
    _product_citations: dict[tuple[int, str | None], str] = field(repr=False, default_factory=dict)
    _allergies: dict[str, ScreeningMatch] = field(repr=False, default_factory=dict)
    _conditions: dict[str, ScreeningMatch] = field(repr=False, default_factory=dict)
    # phrases that contain a name but are not the item ("milk thistle"): key -> the item they are not
    _not_allergies: dict[str, str] = field(repr=False, default_factory=dict)
    _not_conditions: dict[str, str] = field(repr=False, default_factory=dict)
    _no_interaction: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def version(self) -> str:
        return self.files.version

    def product_id(self, name: str) -> str | None:
        """The canonical product id for an id or brand alias, any case."""
        return self._product_ids.get(name.strip().lower())

    def product(self, product_id: str) -> Product:
        return self.files.products[product_id]

    @property
    def largest_session_units(self) -> float:
        """The largest single-session dose of any product (its label's session maximum): the
        input bound of the units of one injection site, on every face. Units of one product are
        never another's; this only keeps an absurd number (1e308) out, named as the field's."""
        return max(float(p.max_session_units.value) for p in self.files.products.values())

    def product_choices(self) -> str:
        """The products as every face names them, for an error's "allowed": each is found by
        its name, its id or its brand, in any case."""
        return ", ".join(p.display_name for p in self.files.products.values()) + ", by name or brand"

    def product_name(self, product_id: str) -> str:
        """The product's display name (``Product.display_name``); an id it does not know, as given
        (a registry imported from elsewhere)."""
        product = self.files.products.get(product_id)
        return product.display_name if product is not None else product_id

    def muscle(self, muscle_id: str) -> Muscle | None:
        return self.files.muscles.get(muscle_id)

    def drug(self, name: str) -> DrugMatch | None:
        """The drug class of a medication as written: "Aspirin 81 mg daily" is found as aspirin."""
        text = name.strip().lower()
        match = self._drugs.get(text)
        if match is None:
            before_dose = text.split(next((c for c in text if c.isdigit()), "\0"))[0].strip()
            match = self._drugs.get(before_dose) or self._drugs.get(text.split()[0] if text else "")
        return match

    def drug_without_interaction(self, name: str) -> str | None:
        """The generic of a medicine with no labelled interaction with botulinum toxin, else None.

        "Tylenol", "paracetamol 500 mg", "Lipitor 20mg daily" and "atorvastatin" are found (as
        acetaminophen, acetaminophen, atorvastatin, atorvastatin), in any case. As in ``drug``,
        a strength and dose after the name are ignored; unlike it, every other word must be a
        dose word, so "paracetamol + orphenadrine" or "Lipitor and gentamicin" give None and
        the unrecognised part is not silenced. A name that ``drug`` or ``product_id`` knows
        (an interacting drug or a toxin) is never reported here.
        """
        text = " ".join(name.strip().lower().split())
        if not text or self.drug(text) is not None or self.product_id(text.split()[0]) is not None:
            return None
        words = text.split(" ")
        heads = [(" ".join(words[:n]), words[n:]) for n in range(len(words), 0, -1)]
        digit = next((i for i, c in enumerate(text) if c.isdigit()), None)
        if digit is not None:  # "lipitor20mg daily": the strength is glued to the name
            heads.append((text[:digit], text[digit:].split()))
        for head, rest in heads:
            generic = self._no_interaction.get(head.strip(" ,;:("))
            if generic is not None and all(self._says_nothing_else(w, generic) for w in rest):
                return generic
        return None

    def _says_nothing_else(self, word: str, generic: str) -> bool:
        """A word after a medicine's name that names no other medicine: a dose word, or the
        same medicine again ("Tylenol (acetaminophen) 500 mg")."""
        word = word.strip(",;:.()[]")
        return (
            not word
            or any(c.isdigit() for c in word)
            or word in _DOSE_WORDS
            or self._no_interaction.get(word) == generic
        )

    def allergy(self, name: str) -> ScreeningMatch | None:
        """An allergy id, alias, or a BoNT product's name (which means an allergy to the toxin)."""
        found = self._allergies.get(screening_key(name))
        if found is None and self.product_id(name) is not None:
            found = self._allergies.get("botulinum_toxin")
        return found

    def condition(self, name: str) -> ScreeningMatch | None:
        return self._conditions.get(screening_key(name))

    def not_allergy(self, phrase: str) -> str | None:
        """The allergy a phrase is not although it contains its name ("coconut milk" ->
        cows_milk_protein: allergies.<id>.not_when), else None."""
        return self._not_allergies.get(screening_key(phrase))

    def not_condition(self, phrase: str) -> str | None:
        return self._not_conditions.get(screening_key(phrase))

    def cite(self, fact: Sourced) -> str:
        """Human-readable citation of a fact: title, label identity, where in it, address.

        A label fact reads "BOTOX label ..., set id 33d0..., effective 2023-11-16, section 2.1 ...";
        a label whose effective date was not read says so instead of a date.
        """
        cached = self._citations.get(id(fact))
        if cached is not None:
            return cached
        src = self.files.sources[fact.source]
        parts = [src.title]
        if src.set_id:
            parts.append(f"set id {src.set_id}")
            if src.version:
                parts.append(f"version {src.version}")
            effective = src.effective.isoformat() if src.effective else "date not recorded"
            parts.append(f"effective {effective}")
        if fact.where:
            parts.append(fact.where)
        return f"{', '.join(parts)} <{src.url}> [{src.confidence}]"

    def cite_for(self, fact: ProductSourced, product_id: str | None) -> str:
        """A screening fact's citation for a plan of one product: its own label's section where
        recorded, else the fact as the class's, saying the product's own section was not read;
        ``product_id`` None (no plan yet): the class's (``knowledge.citing``)."""
        cached = self._product_citations.get((id(fact), product_id))
        if cached is not None:
            return cached
        return citation_for(self.files, fact, product_id, self.cite, self.product_name)


def _read_files() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    folder = resources.files("bontrack.knowledge")
    for name in FILES:
        text = (folder / f"{name}.toml").read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeError(f"knowledge/{name}.toml: {exc}") from exc
        overlap = merged.keys() & data.keys()
        if overlap:
            raise KnowledgeError(f"knowledge/{name}.toml redefines {sorted(overlap)}")
        merged.update(data)
    return merged


def _index_products(kb: KnowledgeFiles) -> dict[str, str]:
    index: dict[str, str] = {}
    for pid, product in kb.products.items():
        for name in dict.fromkeys([pid, product.name, *product.brands]):
            key = name.lower()
            if key in index and index[key] != pid:
                raise KnowledgeError(f"product name '{name}' is used by {index[key]} and {pid}")
            index[key] = pid
    return index


def _index_drugs(kb: KnowledgeFiles) -> dict[str, DrugMatch]:
    index: dict[str, DrugMatch] = {}
    for class_id, drug_class in kb.drug_classes.items():
        names = {m: m for m in drug_class.members} | drug_class.aliases
        for name, generic in names.items():
            key = name.lower()
            if key in index and index[key].class_id != class_id:
                raise KnowledgeError(f"drug '{name}' is in both {index[key].class_id} and {class_id}")
            index[key] = DrugMatch(class_id, drug_class, generic)
    return index


def _index_no_interaction(
    kb: KnowledgeFiles, drugs: dict[str, DrugMatch], products: dict[str, str]
) -> dict[str, str]:
    """Name -> generic for medicines without a labelled interaction, refusing any clash.

    A name here must not also be an interacting drug (a member or alias of a screening drug
    class) or a toxin product, or the engine could stay silent about a real interaction.
    """
    index: dict[str, str] = {}
    where: dict[str, str] = {}
    problems = []
    for group_id, group in kb.medications_no_interaction.groups.items():
        for generic, aliases in group.drugs.items():
            for name in [generic, *aliases]:
                key = " ".join(name.lower().split())
                place = f"medications_no_interaction.{group_id}.{generic}"
                if key in drugs:
                    problems.append(
                        f"{place}: '{name}' is also in drug class {drugs[key].class_id} (screening.toml)"
                    )
                elif key in products:
                    problems.append(f"{place}: '{name}' is also the product {products[key]}")
                elif key in index and index[key] != generic:
                    problems.append(f"{place}: '{name}' is also listed under {where[key]}")
                index[key] = generic
                where.setdefault(key, place)
    if problems:
        raise KnowledgeError("medicines without interaction clash:\n  " + "\n  ".join(problems))
    return index


def _index_screening(items: dict[str, ScreeningItem]) -> dict[str, ScreeningMatch]:
    index: dict[str, ScreeningMatch] = {}
    for item_id, item in items.items():
        for name in [item_id, *item.aliases]:
            key = screening_key(name)
            if key in index and index[key].item_id != item_id:
                raise KnowledgeError(f"'{name}' names both {index[key].item_id} and {item_id}")
            index[key] = ScreeningMatch(item_id, item)
    return index


def _index_not_when(
    kind: str, items: dict[str, ScreeningItem], names: dict[str, ScreeningMatch]
) -> dict[str, str]:
    """The phrases of every item's ``not_when``: each contains a name of its own item as whole
    words and no name of another, and is not itself a name (else it would hide what it names)."""
    index: dict[str, str] = {}
    problems = []
    for item_id, item in items.items():
        for phrase in item.not_when:
            key = screening_key(phrase)
            words = key.split("_")
            inside = {
                names[run].item_id
                for n in range(1, len(words) + 1)
                for i in range(len(words) - n + 1)
                if (run := "_".join(words[i : i + n])) in names
            }
            place = f"{kind}.{item_id}.not_when: '{phrase}'"
            if key in names:
                problems.append(f"{place} is a name of {names[key].item_id}")
            elif inside != {item_id}:
                problems.append(
                    f"{place} must contain a name of {item_id} and of nothing else; it names {sorted(inside)}"
                )
            elif key in index:
                problems.append(f"{place} is also listed under {index[key]}")
            index[key] = item_id
    if problems:
        raise KnowledgeError("screening phrases that are not the item:\n  " + "\n  ".join(problems))
    return index


def build_knowledge(data: dict[str, Any]) -> KnowledgeBase:
    """Validate raw knowledge data (as merged from the TOML files) into a KnowledgeBase."""
    try:
        files = KnowledgeFiles.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise KnowledgeError("knowledge base is invalid:\n  " + "\n  ".join(lines)) from exc
    problems = reference_problems(files)
    if problems:
        raise KnowledgeError("knowledge base references are broken:\n  " + "\n  ".join(problems))
    products, drugs = _index_products(files), _index_drugs(files)
    kb = KnowledgeBase(files, products, drugs)
    kb._no_interaction.update(_index_no_interaction(files, drugs, products))
    kb._allergies.update(_index_screening(files.allergies))
    kb._conditions.update(_index_screening(files.conditions))
    kb._not_allergies.update(_index_not_when("allergies", files.allergies, kb._allergies))
    kb._not_conditions.update(_index_not_when("conditions", files.conditions, kb._conditions))
    # Facts are immutable and live as long as the KnowledgeBase, so id() is a stable key.
    kb._citations.update({id(fact): kb.cite(fact) for _, fact in sourced_facts(files, "")})
    kb._product_citations.update(
        {
            (id(fact), pid): kb.cite_for(fact, pid)
            for _, fact in screening_facts(files)
            for pid in [None, *files.products]
        }
    )
    return kb


@cache
def load_knowledge() -> KnowledgeBase:
    """The packaged knowledge base, validated (cached per process)."""
    return build_knowledge(_read_files())
