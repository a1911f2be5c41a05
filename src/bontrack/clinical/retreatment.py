"""History rules: retreatment interval, other toxins, rolling cumulative dose, stop-and-review.

Doses are summed per product only: units of one product are never converted into another's.
"""

from __future__ import annotations

from datetime import date

from bontrack.clinical.dosing import fmt, over
from bontrack.clinical.findings import Finding, days_ago, finding
from bontrack.clinical.plan import CheckRequest, PastSession
from bontrack.knowledge import KnowledgeBase


def _days(req: CheckRequest, past: PastSession) -> int:
    return (req.date - past.date).days


def interval_findings(req: CheckRequest, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    """Same product sooner than its interval blocks; another product inside the interval warns."""
    out: list[Finding] = []
    product = kb.product(product_id)
    same: list[PastSession] = []
    others: list[str] = []
    interval = product.min_retreatment_days.value
    for past in sorted(req.history, key=lambda p: p.date):
        pid = kb.product_id(past.product)
        assert pid is not None  # validated by parse_check_request
        if pid == product_id:
            same.append(past)
            continue
        other = kb.product(pid)
        days = _days(req, past)
        if days < max(product.min_retreatment_days.value, other.min_retreatment_days.value):
            interval = max(interval, other.min_retreatment_days.value)
            others.append(f"{pid} {fmt(past.total_units)} U on {past.date} ({days_ago(days)})")
    if others:
        out.append(
            finding(
                kb,
                "retreatment.other_product",
                "warn",
                f"Another toxin inside {interval:g} days may add weakness: {'; '.join(others)}. Its units "
                f"are not converted into {product_id} units and do not count towards {product_id}'s limits.",
                kb.files.pathway.other_product_interval,
                "Wait until the earlier toxin has worn off, or lower the dose and document why.",
            )
        )
    if same:
        last = max(same, key=lambda p: p.date)
        days = _days(req, last)
        fact = product.min_retreatment_days
        if days < fact.value:
            earliest = date.fromordinal(last.date.toordinal() + int(fact.value))
            out.append(
                finding(
                    kb,
                    "retreatment.too_soon",
                    "block",
                    f"Last {product_id} session was {days_ago(days)} ({last.date}); the minimum interval "
                    f"is {fact.value:g} days. Earliest date: {earliest}.",
                    fact,
                    "Reschedule on or after the earliest date.",
                )
            )
    return out


def cumulative_findings(req: CheckRequest, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    """The planned dose plus the same product's doses inside the rolling window, against its limit."""
    window = kb.files.pathway.cumulative_window_days.value
    limit = kb.product(product_id).max_units_rolling_12_weeks
    recent = [p for p in req.history if kb.product_id(p.product) == product_id and _days(req, p) < window]
    planned = sum(s.units for s in req.plan.sites)
    prior = sum(p.total_units for p in recent)
    if not recent or not over(prior + planned, limit.value):
        return []
    return [
        finding(
            kb,
            "dose.cumulative_window",
            limit.severity,
            f"{fmt(prior)} U of {product_id} in the last {window:g} days plus {fmt(planned)} U planned is "
            f"{fmt(prior + planned)} U, above the {fmt(limit.value)} U limit for any {window:g} days.",
            limit,
            "Lower the dose or wait until earlier doses leave the window.",
        )
    ]


def calls_for_review(responded: list[bool | None], kb: KnowledgeBase) -> bool:
    """Did the latest N cycles (oldest first; None: not judged) all bring no response?"""
    n = int(kb.files.pathway.stop_review_cycles_without_response.value)
    latest = responded[-n:]
    return len(latest) == n and all(r is False for r in latest)


def stop_review_findings(req: CheckRequest, kb: KnowledgeBase) -> list[Finding]:
    """The latest N cycles all judged non-responses: stop and review before another."""
    fact = kb.files.pathway.stop_review_cycles_without_response
    n = int(fact.value)
    latest = sorted(req.history, key=lambda p: p.date)
    if calls_for_review([p.responded for p in latest], kb):
        return [
            finding(
                kb,
                "pathway.stop_and_review",
                "warn",
                f"The last {n} cycles brought no response: stop and review before another injection.",
                fact,
                "Reassess the diagnosis, the muscles chosen and the therapy plan; consider stopping.",
            )
        ]
    return []
