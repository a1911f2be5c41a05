"""Pathway eligibility: chronic pain, conservative care tried, therapy alongside, trigger points, age."""

from __future__ import annotations

from bontrack.clinical.findings import Finding, finding
from bontrack.clinical.plan import CheckRequest
from bontrack.knowledge import KnowledgeBase


def _age_years(req: CheckRequest) -> int:
    born, on = req.patient.birth_date, req.date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def eligibility_findings(req: CheckRequest, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    path = kb.files.pathway
    out: list[Finding] = []
    weeks = (req.date - req.episode.pain_onset_date).days / 7
    if weeks < path.chronic_pain_min_weeks.value:
        out.append(
            finding(
                kb,
                "eligibility.not_chronic",
                "warn",
                f"Pain began {weeks:.1f} weeks before the session; the pathway treats pain lasting at "
                f"least {path.chronic_pain_min_weeks.value:g} weeks.",
                path.chronic_pain_min_weeks,
                "Continue conservative care; document why toxin now.",
            )
        )
    care = req.episode.conservative_care_weeks
    if care < path.conservative_care_min_weeks.value:
        out.append(
            finding(
                kb,
                "eligibility.conservative_care",
                "warn",
                f"Conservative care tried for {care:g} weeks; the pathway asks for at least "
                f"{path.conservative_care_min_weeks.value:g} weeks first.",
                path.conservative_care_min_weeks,
                "Try physical therapy and other conservative care first.",
            )
        )
    if not req.plan.physical_therapy:
        out.append(
            finding(
                kb,
                "pathway.no_physical_therapy",
                "warn",
                "No physical therapy planned alongside the injection: toxin alone is not the pathway.",
                path.physical_therapy_alongside,
                "Refer to physical therapy to relax, then stretch and strengthen.",
            )
        )
    documented = {(tp.muscle, tp.side) for tp in req.episode.trigger_points}
    missing = sorted({(s.muscle, s.side) for s in req.plan.sites} - documented)
    for muscle, side in missing:
        out.append(
            finding(
                kb,
                "pathway.no_trigger_point",
                "warn",
                f"No trigger point is documented in {muscle} ({side}).",
                path.trigger_point_per_muscle,
                "Examine and document the trigger point, or do not inject this muscle.",
            )
        )
    min_age = kb.product(product_id).min_age_years
    age = _age_years(req)
    if age < min_age.value:
        out.append(
            finding(
                kb,
                "eligibility.age",
                "warn",
                f"Patient is {age}; {product_id} is labelled for cervical use from {min_age.value:g} years.",
                min_age,
                "Safety and effectiveness are not established at this age: specialist review.",
            )
        )
    return out
