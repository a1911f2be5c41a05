"""Pathway eligibility: chronic pain, conservative care tried, therapy alongside, trigger points, age."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bontrack.clinical.findings import Finding, finding, number, site_name
from bontrack.clinical.plan import CheckRequest
from bontrack.knowledge import KnowledgeBase


def _age_years(req: CheckRequest) -> int:
    born, on = req.patient.birth_date, req.date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _muscles(pairs: Iterable[tuple[str, str]]) -> str:
    return ", ".join(site_name(muscle, side) for muscle, side in sorted(set(pairs)))


def role_key(role: str) -> str:
    """A role as people write it, in the vocabulary's form: "Physician" -> physician,
    "Physical Therapist" or "physical-therapist" -> physical_therapist."""
    return "_".join(role.lower().replace("-", " ").split())


def trigger_point_findings(req: CheckRequest, kb: KnowledgeBase) -> list[Finding]:
    """Every injected muscle and side has a documented trigger point, found recently enough.

    One finding for all undocumented muscles, one for all stale ones: a trigger point counts as
    documented when any examination found it; stale when the newest finding of it is older than the
    pathway allows. Trigger points no examination date was given for (`bontrack check` input
    without ``found_on``; the registry always dates them) are named once, as information.
    """
    path = kb.files.pathway
    newest: dict[tuple[str, str], date | None] = {}
    for tp in req.episode.trigger_points:
        key = (tp.muscle, tp.side)
        if key not in newest:
            newest[key] = tp.found_on
        else:
            known = [d for d in (newest[key], tp.found_on) if d is not None]
            newest[key] = max(known) if known else None
    planned = {(s.muscle, s.side) for s in req.plan.sites}
    out: list[Finding] = []
    missing = planned - set(newest)
    if missing:
        out.append(
            finding(
                kb,
                "pathway.no_trigger_point",
                "warn",
                f"No trigger point documented for: {_muscles(missing)}.",
                path.trigger_point_per_muscle,
                "Examine and document the trigger points, or do not inject these muscles.",
            )
        )
    limit = path.trigger_point_max_age_days
    stale = {
        key: found
        for key, found in newest.items()
        if key in planned and found is not None and (req.date - found).days > limit.value
    }
    undated = sorted(key for key, found in newest.items() if key in planned and found is None)
    if undated:
        out.append(
            finding(
                kb,
                "pathway.trigger_point_date_unknown",
                "info",
                f"No examination date given for the trigger points in: {_muscles(undated)}; they are "
                f"current if found within {limit.value:g} days.",
                limit,
                f"Check when they were found; examine again if it was more than {limit.value:g} days ago.",
            )
        )
    if stale:
        oldest = min(stale.values())
        out.append(
            finding(
                kb,
                "pathway.trigger_point_stale",
                "warn",
                f"Trigger points found more than {limit.value:g} days ago (oldest {oldest}): "
                f"{_muscles(stale)}.",
                limit,
                "Examine again and document what is found today.",
            )
        )
    return out


def injector_findings(req: CheckRequest, kb: KnowledgeBase) -> list[Finding]:
    """Only the roles the pathway allows may inject; an absent role is not judged."""
    role = req.plan.injector_role
    allowed = kb.files.pathway.injector_roles
    if role is None or role_key(role) in allowed.roles:
        return []
    roles = " or ".join(r.replace("_", " ") for r in allowed.roles)
    return [
        finding(
            kb,
            "injector.not_qualified",
            "block",
            f"The injector is recorded as {role_key(role).replace('_', ' ')}, not as a {roles}: only a "
            f"{roles} may inject botulinum toxin.",
            allowed,
            f"A {roles} gives the injection. If the injector is one, record the role as {roles}.",
        )
    ]


def eligibility_findings(req: CheckRequest, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    path = kb.files.pathway
    out: list[Finding] = []
    days = (req.date - req.episode.pain_onset_date).days
    weeks = days / 7
    if weeks < path.chronic_pain_min_weeks.value:
        began = f"{days} day{'' if days == 1 else 's'}" if days < 14 else f"{weeks:.1f} weeks"
        out.append(
            finding(
                kb,
                "eligibility.not_chronic",
                "warn",
                f"Pain began {began} before the session; the pathway treats pain lasting at "
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
                f"Conservative care tried for {number(care, 1)} weeks; the pathway asks for at least "
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
    out.extend(trigger_point_findings(req, kb))
    out.extend(injector_findings(req, kb))
    min_age = kb.product(product_id).min_age_years
    age = _age_years(req)
    if age < min_age.value:
        out.append(
            finding(
                kb,
                "eligibility.age",
                "warn",
                f"Patient is {age} years old; {product_id} is labelled for cervical use from "
                f"{min_age.value:g} years.",
                min_age,
                "Safety and effectiveness are not established at this age: specialist review.",
            )
        )
    return out
