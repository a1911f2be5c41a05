"""Cross-reference checks of the knowledge files: each fact's source is known (a label's fact
names its section), and what the files name (muscles, products, reactions, sources) exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from bontrack.knowledge.citing import product_source_problems
from bontrack.knowledge.models import KnowledgeFiles, Sourced

LABEL_SECTION = re.compile(r"\bsection \d+(\.\d+)*\b", re.IGNORECASE)


def sourced_facts(obj: Any, path: str) -> Iterator[tuple[str, Sourced]]:
    """Every Sourced fact inside a validated model, with its dotted path."""
    if isinstance(obj, Sourced):
        yield path, obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from sourced_facts(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from sourced_facts(value, f"{path}[{i}]")
    elif isinstance(obj, BaseModel):
        for key in type(obj).model_fields:
            yield from sourced_facts(getattr(obj, key), f"{path}.{key}" if path else key)


def reference_problems(kb: KnowledgeFiles) -> list[str]:
    """Every broken reference of the knowledge files: unknown sources, muscles and products, a
    label's fact without its section, and the like (each a line naming where)."""
    problems: list[str] = []
    for path, fact in sourced_facts(kb, ""):
        source = kb.sources.get(fact.source)
        if source is None:
            problems.append(f"{path}: unknown source '{fact.source}'")
        elif source.confidence == "label" and not LABEL_SECTION.search(fact.where):
            problems.append(
                f"{path}.where: a fact from a label ('{fact.source}') names its section "
                f"(e.g. 'section 2.1'), got {fact.where!r}"
            )
    for pid, product in kb.products.items():
        for cap in product.muscle_caps:
            if cap.muscle not in kb.muscles:
                problems.append(f"products.{pid}.muscle_caps: unknown muscle '{cap.muscle}'")
        for vial in product.vials:
            if product.form == "powder" and not 0 < vial.diluent_ml_min <= vial.diluent_ml_max:
                problems.append(f"products.{pid}.vials[{vial.units}]: powder needs a diluent range")
    if kb.pathway.bilateral_scm.muscle not in kb.muscles:
        problems.append(f"pathway.bilateral_scm.muscle: unknown muscle '{kb.pathway.bilateral_scm.muscle}'")
    for group in (kb.allergies, kb.states, kb.conditions):
        for item_id, item in group.items():
            problems.extend(
                f"screening {item_id}: unknown product '{p}'" for p in item.products if p not in kb.products
            )
    problems.extend(product_source_problems(kb))
    problems.extend(
        f"label_adverse_reactions: unknown product '{pid}'"
        for pid in kb.label_adverse_reactions
        if pid not in kb.products
    )
    listed = {term for label in kb.label_adverse_reactions.values() for term in label.percent}
    problems.extend(
        f"adverse_event_aliases: '{term}' is not a reaction a label lists"
        for term in kb.adverse_event_aliases
        if term not in listed
    )
    problems.extend(
        f"{name}.fhir_source: unknown source '{terms.fhir_source}'"
        for name, terms in (
            ("adverse_event_status", kb.adverse_event_status),
            ("adverse_event_relatedness", kb.adverse_event_relatedness),
        )
        if terms.fhir_source and terms.fhir_source not in kb.sources
    )
    return problems
