"""Every source is a citable document: a web address, never a local path; every label fact names
its label section; the therapeutic product limits cite the FDA labels, not cosmetic or secondary
pages."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

import pytest

from bontrack.knowledge import KnowledgeError, load_knowledge
from bontrack.knowledge.checks import LABEL_SECTION, sourced_facts
from bontrack.knowledge.loader import _read_files, build_knowledge

LABEL_SOURCES = {
    "onabotulinumtoxinA": "botox_fda_label",
    "abobotulinumtoxinA": "dysport_fda_label",
    "incobotulinumtoxinA": "xeomin_fda_label",
    "rimabotulinumtoxinB": "myobloc_fda_label",
    "daxibotulinumtoxinA": "daxxify_fda_label",
}


def local_path_reason(url: str) -> str:
    """Why an address is not a web address a reader can open ('' when it is one)."""
    if not re.match(r"^https?://[^/\s]+\.[^/\s]+(/\S*)?$", url):
        return "no http(s) scheme and host"
    path = url.split("://", 1)[1].split("?", 1)[0]
    if "/../" in path or "/./" in path or path.endswith("/.."):
        return "relative path segment"
    if re.search(r"(^|/)(README|readme)(\.md)?(#|$)", path):
        return "repository README"
    return ""


@pytest.mark.parametrize(
    "url",
    [
        "../shared/seeds/000_8fadf419f6ea5cb1.txt",
        "README.md#the-pathway",
        "/work/shared/seeds/003_41ad6351e33a8440.txt",
        "shared/seeds/001_d467ea80e9d05412.txt",
        "file:///work/shared/clinical/REFERENCE.md",
        "C:\\seeds\\000.txt",
        "www.uclahealth.org/body.cfm?id=502",
        "https://example.org/../shared/seeds/000.txt",
        "https://github.com/owner/repo/README.md#the-pathway",
        "",
    ],
)
def test_the_local_path_check_refuses(url: str) -> None:
    assert local_path_reason(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://www.uclahealth.org/body.cfm?id=502",
        "https://api.fda.gov/drug/label.json?search=set_id:%2233d066a9-34ff-4a1a-b38b-d10983df3300%22",
    ],
)
def test_the_local_path_check_accepts_web_addresses(url: str) -> None:
    assert local_path_reason(url) == ""


def test_every_source_address_is_a_web_address() -> None:
    sources = load_knowledge().files.sources
    bad = {sid: (s.url, local_path_reason(s.url)) for sid, s in sources.items() if local_path_reason(s.url)}
    assert bad == {}


@pytest.mark.parametrize(
    "url", ["../shared/seeds/000_8fadf419f6ea5cb1.txt", "README.md#the-pathway", "seeds/003.txt"]
)
def test_loading_refuses_a_local_path_naming_the_source(url: str) -> None:
    raw = copy.deepcopy(_read_files())
    raw["sources"]["pathway_ucla"]["url"] = url
    with pytest.raises(KnowledgeError, match=r"sources\.pathway_ucla.*url must be a web address"):
        build_knowledge(raw)


@pytest.mark.parametrize(
    ("where", "ok"),
    [
        ("section 2.1: maximum cumulative dose 400 Units in a 3-month interval", True),
        ("section 2.2 Table 1: 100 Unit vial", True),
        ("Section 4: known allergy to cow's milk protein", True),
        ("label section 3: 50 and 100 Unit vials", True),
        ("Contraindications: infection at the proposed injection site(s)", False),
        ("Dosage and administration: dilution table (1, 2, 4, 8 mL)", False),
        ("2.1: 400 Units per session", False),
        ("sections of the label", False),
        ("", False),
    ],
)
def test_the_section_check(where: str, ok: bool) -> None:
    assert bool(LABEL_SECTION.search(where)) is ok


def test_every_label_fact_names_its_section() -> None:
    kb = load_knowledge()
    label_facts = [
        (path, fact)
        for path, fact in sourced_facts(kb.files, "")
        if kb.files.sources[fact.source].confidence == "label"
    ]
    assert len(label_facts) > 40
    missing = [path for path, fact in label_facts if not LABEL_SECTION.search(fact.where)]
    assert missing == []


def test_loading_refuses_a_label_fact_without_a_section() -> None:
    raw = copy.deepcopy(_read_files())
    raw["products"]["onabotulinumtoxinA"]["max_session_units"]["where"] = "Maximum cumulative dose"
    with pytest.raises(
        KnowledgeError, match=re.escape("products.onabotulinumtoxinA.max_session_units.where")
    ):
        build_knowledge(raw)


def test_a_label_source_needs_its_set_id() -> None:
    raw = copy.deepcopy(_read_files())
    del raw["sources"]["botox_fda_label"]["set_id"]
    with pytest.raises(KnowledgeError, match=r"sources\.botox_fda_label.*needs its set_id"):
        build_knowledge(raw)


def test_every_product_limit_cites_its_own_label_or_the_pathway() -> None:
    files = load_knowledge().files
    wrong = []
    for pid, product in files.products.items():
        for path, fact in sourced_facts(product, f"products.{pid}"):
            source = files.sources[fact.source]
            own_label = (
                fact.source == LABEL_SOURCES[pid] or source.set_id == files.sources[LABEL_SOURCES[pid]].set_id
            )
            if not (own_label or source.confidence == "pathway"):
                wrong.append(f"{path}: {fact.source}")
    assert wrong == []


def test_no_screening_or_product_fact_cites_a_cosmetic_or_secondary_page() -> None:
    kb = load_knowledge()
    files = kb.files
    facts = [
        *sourced_facts(files.products, "products"),
        *sourced_facts(files.allergies, "allergies"),
        *sourced_facts(files.states, "states"),
        *sourced_facts(files.conditions, "conditions"),
        *sourced_facts(files.drug_classes, "drug_classes"),
        *sourced_facts(files.pathway, "pathway"),
    ]
    bad = []
    for path, fact in facts:
        source = files.sources[fact.source]
        text = f"{source.title} {source.url}".lower()
        if "cosmetic" in text or source.confidence in {"secondary", "label-derived"}:
            bad.append(f"{path}: {fact.source}")
    assert bad == []


@pytest.mark.parametrize(("pid", "sid"), LABEL_SOURCES.items())
def test_a_label_citation_gives_title_set_id_date_and_section(pid: str, sid: str) -> None:
    kb = load_knowledge()
    fact = kb.product(pid).typical_cervical_session_units
    source = kb.files.sources[sid]
    citation = kb.cite(fact)
    assert fact.source == sid
    assert citation.startswith(source.title)
    assert f"set id {source.set_id}" in citation
    assert "effective " in citation
    assert re.search(r"section \d", citation)


def test_a_recorded_effective_date_and_version_are_cited() -> None:
    raw: dict[str, Any] = copy.deepcopy(_read_files())
    raw["sources"]["botox_fda_label"].update({"effective": dt.date(2023, 11, 16), "version": "36"})
    kb = build_knowledge(raw)
    citation = kb.cite(kb.product("onabotulinumtoxinA").max_units_rolling_12_weeks)
    label = "set id 33d066a9-34ff-4a1a-b38b-d10983df3300, version 36, effective 2023-11-16"
    assert f"{label}, section 2.1" in citation
    assert "not recorded" not in citation


def test_pathway_seeds_are_cited_by_publisher_title_and_date() -> None:
    sources = load_knowledge().files.sources
    assert sources["pathway_ucla"].title.startswith("UCLA Health, 'Botox Eases Pain in Head and Neck'")
    assert "Summer 2005" in sources["pathway_ucla"].title
    assert sources["pathway_spine_institute"].title.startswith("The Spine Institute")
    for sid in ("pathway_ucla", "pathway_spine_institute", "pathway_policy"):
        assert ".txt" not in sources[sid].url and "seeds" not in sources[sid].title
