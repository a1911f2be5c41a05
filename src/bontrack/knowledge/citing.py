"""Which label a screening fact is cited from: the planned product's own, or the class's.

A screening fact (``models.ProductSourced``: an allergy, state, condition or drug class) is
cited by default from one label, most often BOTOX's, and, in its ``sources`` table, from each
product's own label where that label was read to say it. A label source names the product it
is the label of (``Source.label_of``), so a citation can tell a product's own label from
another's:

- a plan of a product with its own entry cites that entry;
- a plan of the product whose label is the default cites the default;
- a plan of any other product cites the default as a fact of the class, saying that the
  product's own label section was not read;
- without a product (the chart's banner, which judges today's facts for every product), the
  default is cited as the class's, followed by every product's own entry.

A fact that is not from a product's label (the pathway, a paper) or that applies to some
products only (the cow's milk protein allergy, DYSPORT's) is cited as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bontrack.knowledge.models import (
    DrugClass,
    KnowledgeFiles,
    ProductSourced,
    ScreeningItem,
    Sourced,
)

CLASS = "Class fact, from the {owner} label"
NOT_READ = " (the {product} label's own section not checked)"


def screening_facts(files: KnowledgeFiles) -> Iterator[tuple[str, ProductSourced]]:
    """Every screening fact with its dotted path (allergies.x, states.x, conditions.x, drug_classes.x)."""
    groups: dict[str, dict[str, ScreeningItem] | dict[str, DrugClass]] = {
        "allergies": files.allergies,
        "states": files.states,
        "conditions": files.conditions,
        "drug_classes": files.drug_classes,
    }
    for name, group in groups.items():
        for item_id, item in group.items():
            yield f"{name}.{item_id}", item


def product_labels(files: KnowledgeFiles) -> dict[str, str]:
    """Product id -> the id of its own label source (``Source.label_of``)."""
    return {src.label_of: sid for sid, src in files.sources.items() if src.label_of}


def product_source_problems(files: KnowledgeFiles) -> list[str]:
    """What is wrong with the labels' products and the screening facts' per-product citations:
    a label of an unknown product, a product with two labels, a non-label naming a product; an
    entry for an unknown product, for a product the rule does not apply to, or citing anything
    but that product's own label. (An unknown source id is found with every other fact's.)"""
    problems: list[str] = []
    labels: dict[str, str] = {}
    for sid, src in files.sources.items():
        pid = src.label_of
        if not pid:
            continue
        place = f"sources.{sid}.label_of"
        if pid not in files.products:
            problems.append(f"{place}: unknown product '{pid}'")
        elif src.confidence != "label":
            problems.append(f'{place}: only a label (confidence "label") is a product\'s label')
        elif pid in labels:
            problems.append(f"{place}: '{pid}' already has its label, {labels[pid]}")
        else:
            labels[pid] = sid
    for path, fact in screening_facts(files):
        only = fact.products if isinstance(fact, ScreeningItem) else []
        for pid, cited in fact.sources.items():
            place = f"{path}.sources.{pid}"
            if pid not in files.products:
                problems.append(f"{place}: unknown product '{pid}'")
            elif only and pid not in only:
                problems.append(f"{place}: the rule applies only to {', '.join(only)}")
            elif cited.source in files.sources and cited.source != labels.get(pid):
                own = labels.get(pid, "none recorded")
                problems.append(f"{place}: cites '{cited.source}', not the product's own label ({own})")
    return problems


def citation_for(
    files: KnowledgeFiles,
    fact: ProductSourced,
    product_id: str | None,
    cite: Callable[[Sourced], str],
    name: Callable[[str], str],
) -> str:
    """The citation of a screening fact for a plan of ``product_id`` (None: of any product).

    ``cite`` renders one fact's citation (``KnowledgeBase.cite``), ``name`` a product's display
    name (``KnowledgeBase.product_name``).
    """
    owner = files.sources[fact.source].label_of
    own = fact.sources.get(product_id) if product_id is not None else None
    if own is not None:
        return cite(own)
    for_every_product = not (isinstance(fact, ScreeningItem) and fact.products)
    if not owner or not for_every_product or owner == product_id:
        return cite(fact)
    head = CLASS.format(owner=name(owner))
    if product_id is not None:
        return f"{head}{NOT_READ.format(product=name(product_id))}: {cite(fact)}"
    others = "".join(f"; the {name(pid)} label: {cite(c)}" for pid, c in fact.sources.items())
    return f"{head}: {cite(fact)}{others}"
