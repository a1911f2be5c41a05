"""knowledge/planning.toml and billing.toml: validated against the knowledge base when loaded."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from bontrack.knowledge import load_knowledge
from bontrack.knowledge.loader import KnowledgeError
from bontrack.planning.knowledge import PlanningKnowledge, _read, build_planning

KB = load_knowledge()


def test_every_product_has_a_dose_range_and_a_drug_code(pk: PlanningKnowledge) -> None:
    assert set(pk.planning.products) == set(KB.files.products) == set(pk.billing.drugs)
    codes = {pid: (d.code, d.units_per_billing_unit) for pid, d in pk.billing.drugs.items()}
    assert codes == {
        "onabotulinumtoxinA": ("J0585", 1),
        "abobotulinumtoxinA": ("J0586", 5),
        "rimabotulinumtoxinB": ("J0587", 100),
        "incobotulinumtoxinA": ("J0588", 1),
        "daxibotulinumtoxinA": ("J0589", 1),
    }
    for pid, drug in pk.billing.drugs.items():  # every vial holds whole billing units
        assert all(v.units % drug.units_per_billing_unit == 0 for v in KB.product(pid).vials)


def test_every_fact_cites_a_web_source(pk: PlanningKnowledge) -> None:
    facts = [
        *(p.per_muscle for p in pk.planning.products.values()),
        pk.planning.first_treatment,
        pk.planning.graduations,
        *pk.billing.drugs.values(),
        *pk.billing.procedures.values(),
        pk.billing.jw,
        pk.billing.jz,
        pk.billing.rounding,
    ]
    for fact in facts:
        assert "<http" in pk.cite(fact)
    derived = [p.per_muscle for p in pk.planning.products.values() if p.per_muscle.source.endswith("_label")]
    assert derived and all("not a label number" in f.note for f in derived)


def test_no_citation_repeats_the_sources_last_word(pk: PlanningKnowledge) -> None:
    """A fact's ``where`` does not begin with the word its source's title ends with ("...PubMed
    abstract, abstract: Dysport 400 U" read it twice)."""
    facts = [
        *(p.per_muscle for p in pk.planning.products.values()),
        *(p.max_sites for p in pk.planning.products.values() if p.max_sites is not None),
    ]
    for fact in facts:
        last = pk.sources[fact.source].title.split()[-1].lower()
        assert not fact.where.lower().startswith(last), pk.cite(fact)
        assert f"{last}, {last}" not in pk.cite(fact).lower()


def broken(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(_read())
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["planning"]["products"]["onabotulinumtoxinA"]["per_muscle"].update(source="nowhere"),
            "unknown source",
        ),
        (
            lambda d: d["planning"]["products"]["incobotulinumtoxinA"]["per_muscle"].update(
                where="the dosing table"
            ),
            "names its section",
        ),
        (
            lambda d: d["planning"]["products"]["onabotulinumtoxinA"]["per_muscle"].update(low=60),
            "low <= usual <= high",
        ),
        (lambda d: d["billing"]["drugs"].pop("abobotulinumtoxinA"), "no planning or billing entry"),
        (
            lambda d: d["billing_sources"].update(gobel_2006=d["billing_sources"]["cms_jw_jz_faq"]),
            "also defined",
        ),
        (lambda d: d["billing_sources"]["cms_jw_jz_faq"].update(url="file:///tmp/faq.pdf"), "web address"),
        (
            lambda d: d["billing"]["ndc"]["incobotulinumtoxinA"].update(
                {"300": {"ndc": "1-2-3", "source": "cms_jw_jz_faq"}}
            ),
            "ndc",
        ),
    ],
)
def test_broken_knowledge_is_refused(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        build_planning(broken(edit), KB)
