"""The planner's and coder's knowledge: knowledge/planning.toml and knowledge/billing.toml.

Validated like the rest of the knowledge base: every fact names a known source (sources.toml or
billing.toml's own ``billing_sources``), and a fact read from a label names its section.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from bontrack.knowledge import KnowledgeBase, load_knowledge
from bontrack.knowledge.checks import LABEL_SECTION, sourced_facts
from bontrack.knowledge.loader import KnowledgeError
from bontrack.knowledge.models import Source, Sourced, Strict

Intensity = Literal["low", "usual", "high"]
INTENSITIES: tuple[Intensity, ...] = ("low", "usual", "high")


class MuscleDose(Sourced):
    """Units per muscle side at each intensity, in the product's own units."""

    low: float = Field(gt=0)
    usual: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> MuscleDose:
        if not self.low <= self.usual <= self.high:
            raise ValueError("low <= usual <= high is required")
        return self

    def at(self, intensity: Intensity) -> float:
        return float(getattr(self, intensity))


class SiteCount(Sourced):
    """How many trigger points the study behind a product's per-muscle doses injected in a session."""

    value: int = Field(ge=1)


class ProductPlanning(Strict):
    dose_step_units: float = Field(gt=0)
    per_muscle: MuscleDose
    muscles: dict[str, MuscleDose] = Field(default_factory=dict, description="per-muscle overrides")
    max_sites: SiteCount | None = Field(
        None, description="more injection sites than this warns (planning.site_count); None: no cited number"
    )

    def dose(self, muscle: str) -> MuscleDose:
        return self.muscles.get(muscle, self.per_muscle)


class FirstTreatment(Sourced):
    steps_down: int = Field(ge=0, le=2)


class Graduations(Sourced):
    ml: list[float] = Field(min_length=1)
    min_site_ml: float = Field(gt=0)
    max_site_ml: float = Field(gt=0)


class StockRules(Sourced):
    """Stock: how many days before a lot's expiry the session form and `bontrack stock` warn."""

    expiry_warning_days: int = Field(ge=0, le=365)


class Planning(Strict):
    products: dict[str, ProductPlanning]
    first_treatment: FirstTreatment
    graduations: Graduations
    stock: StockRules


class DrugCode(Sourced):
    code: str
    units_per_billing_unit: float = Field(gt=0)
    description: str


class ProcedureCode(Sourced):
    code: str
    description: str


class Ndc(Sourced):
    ndc: str = Field(pattern=r"^\d{4,5}-\d{3,4}-\d{1,2}$")


class Billing(Strict):
    drugs: dict[str, DrugCode]
    jw: Sourced
    jz: Sourced
    rounding: Sourced
    procedures: dict[str, ProcedureCode]
    coverage_warning: Sourced
    ndc: dict[str, dict[str, Ndc]] = Field(description="product id -> vial units -> NDC")


class PlanningFiles(Strict):
    planning: Planning
    billing: Billing
    billing_sources: dict[str, Source]


@dataclass(frozen=True)
class PlanningKnowledge:
    files: PlanningFiles
    kb: KnowledgeBase
    sources: dict[str, Source]
    _citations: dict[int, tuple[Sourced, str]] = field(default_factory=dict, repr=False)

    @property
    def planning(self) -> Planning:
        return self.files.planning

    @property
    def billing(self) -> Billing:
        return self.files.billing

    def cite(self, fact: Sourced) -> str:
        """The same citation format as KnowledgeBase.cite, over both sets of sources (cached)."""
        cached = self._citations.get(id(fact))
        if cached is not None and cached[0] is fact:
            return cached[1]
        if fact.source in self.kb.files.sources:
            text = self.kb.cite(fact)
        else:
            src = self.sources[fact.source]
            parts = [src.title, *([fact.where] if fact.where else [])]
            text = f"{', '.join(parts)} <{src.url}> [{src.confidence}]"
        self._citations[id(fact)] = (fact, text)
        return text


def build_planning(data: dict[str, Any], kb: KnowledgeBase) -> PlanningKnowledge:
    try:
        files = PlanningFiles.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise KnowledgeError("planning/billing knowledge is invalid:\n  " + "\n  ".join(lines)) from exc
    problems: list[str] = []
    clash = files.billing_sources.keys() & kb.files.sources.keys()
    problems.extend(f"billing_sources.{s}: also defined in sources.toml" for s in sorted(clash))
    sources = {**kb.files.sources, **files.billing_sources}
    for path, fact in sourced_facts(files, ""):
        src = sources.get(fact.source)
        if src is None:
            problems.append(f"{path}: unknown source '{fact.source}'")
        elif src.confidence == "label" and not LABEL_SECTION.search(fact.where):
            problems.append(f"{path}.where: a label fact names its section, got {fact.where!r}")
    for group, ids in (
        ("planning.products", files.planning.products),
        ("billing.drugs", files.billing.drugs),
        ("billing.ndc", files.billing.ndc),
    ):
        problems.extend(f"{group}: unknown product '{p}'" for p in ids if p not in kb.files.products)
    missing = [
        p for p in kb.files.products if p not in files.planning.products or p not in files.billing.drugs
    ]
    problems.extend(f"product '{p}' has no planning or billing entry" for p in missing)
    for pid, by_size in files.billing.ndc.items():
        if pid in kb.files.products:
            sizes = {f"{v.units}" for v in kb.product(pid).vials}
            problems.extend(f"billing.ndc.{pid}.{s}: no such vial" for s in by_size if s not in sizes)
    for pid, prod in files.planning.products.items():
        problems.extend(
            f"planning.products.{pid}.muscles.{m}: unknown muscle"
            for m in prod.muscles
            if m not in kb.files.muscles
        )
    if problems:
        raise KnowledgeError("planning/billing knowledge references are broken:\n  " + "\n  ".join(problems))
    return PlanningKnowledge(files, kb, sources)


def _read() -> dict[str, Any]:
    folder = resources.files("bontrack.knowledge")
    merged: dict[str, Any] = {}
    for name in ("planning", "billing"):
        try:
            merged.update(tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeError(f"knowledge/{name}.toml: {exc}") from exc
    return merged


@cache
def load_planning() -> PlanningKnowledge:
    """The packaged planning and billing knowledge, validated against the knowledge base (cached)."""
    return build_planning(_read(), load_knowledge())
