"""What a check returns: a decision and the findings behind it, each with its source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.models import ProductSourced, Sourced

Severity = Literal["block", "warn", "info"]
Verdict = Literal["allow", "warn", "block"]

_RANK: dict[str, int] = {"info": 0, "warn": 1, "block": 2}


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    message: str
    source: str
    advice: str = ""


class SiteDilution(BaseModel):
    model_config = ConfigDict(frozen=True)

    muscle: str
    side: str
    units: float
    volume_ml: float


class Dilution(BaseModel):
    """Arithmetic of the prepared solution, shown to the injector."""

    model_config = ConfigDict(frozen=True)

    product: str
    units_per_ml: float
    units_per_0_1_ml: float
    available_units: float
    total_units: float
    total_volume_ml: float
    sites: list[SiteDilution]


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Verdict
    findings: list[Finding]
    knowledge_version: str
    product: str
    dilution: Dilution


NO_DOSE = 1e12  # beyond any dose or volume: a number this large is a typing error, said short


def number(value: float, decimals: int = 3) -> str:
    """A number as a clinician reads it: thousands separated, no exponent, no trailing zeros
    ("10,000", "33.333", "0.5"); never "1e+06" or "10000.0". A number beyond any dose (1e+308,
    a typing error of an earlier session's total) is said as 1e+308, not in 309 digits."""
    if not abs(value) < NO_DOSE:
        return f"{value:.3g}"
    rounded = round(value, decimals)
    whole = int(rounded)
    if rounded == whole:
        return str(whole) if -1000 < whole < 1000 else f"{whole:,}"
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def site_name(muscle: str, side: str = "") -> str:
    """A muscle (and side) in words: "upper trapezius left", never the id "upper_trapezius"."""
    return f"{muscle.replace('_', ' ')} {side}".strip()


def days_ago(days: int) -> str:
    """'today', '1 day ago', '39 days ago'."""
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"


def finding(
    kb: KnowledgeBase, code: str, severity: Severity, message: str, fact: Sourced, advice: str = ""
) -> Finding:
    """A finding whose source is the citation of the knowledge-base fact behind it.

    Built without re-validation (model_construct): every field is produced by the engine itself.
    """
    return Finding.model_construct(
        code=code, severity=severity, message=message, source=kb.cite(fact), advice=advice
    )


def screening_finding(
    kb: KnowledgeBase,
    code: str,
    severity: Severity,
    message: str,
    fact: ProductSourced,
    product_id: str | None,
    advice: str = "",
) -> Finding:
    """A screening finding whose source is cited for the planned product (``KnowledgeBase.cite_for``):
    that product's own label section where recorded, else the fact as the class's; ``product_id``
    None (no plan yet), the class's."""
    return Finding.model_construct(
        code=code, severity=severity, message=message, source=kb.cite_for(fact, product_id), advice=advice
    )


def verdict(findings: list[Finding]) -> Verdict:
    """block if any finding blocks, else warn if any warns, else allow (info never changes it)."""
    worst = max((_RANK[f.severity] for f in findings), default=0)
    return "block" if worst == 2 else "warn" if worst == 1 else "allow"


def one_per_code(findings: list[Finding]) -> list[Finding]:
    """At most one finding per code. The rules already name everything a code covers in one
    message; should two findings still share a code, they become one: the most severe first, the
    other messages after it, each source once."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    out = []
    for same in by_code.values():
        if len(same) == 1:
            out.append(same[0])
            continue
        same = sorted(same, key=lambda f: (-_RANK[f.severity], f.message))
        first = same[0]
        out.append(
            Finding.model_construct(
                code=first.code,
                severity=first.severity,
                message=" ".join(dict.fromkeys(f.message for f in same)),
                source="; ".join(dict.fromkeys(f.source for f in same)),
                advice=" ".join(dict.fromkeys(f.advice for f in same if f.advice)),
            )
        )
    return out


# Within a severity, what a clinician must know first: the patient (allergy, pregnancy,
# infection, disease, current answers, medicines), then who injects, then the product and the
# dose, then the pathway. A pregnant patient's plan opens on the pregnancy, not on its dose.
_TOPICS = {
    topic: rank
    for rank, topic in enumerate(
        (
            "allergy",
            "screening",
            "condition",
            "medication",
            "injector",
            "retreatment",
            "lot",
            "reconstitution",
            "dose",
            "dilution",
            "eligibility",
            "pathway",
        )
    )
}


def _topic(code: str) -> int:
    return _TOPICS.get(code.partition(".")[0], len(_TOPICS))


def ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity by topic (the patient before the plan), then by
    code, so output is reproducible."""
    return sorted(findings, key=lambda f: (-_RANK[f.severity], _topic(f.code), f.code, f.message))
