"""Lot expiry and the time a reconstituted (or diluted) product stays usable.

Both are judged on the plan's own date and times, never on the machine's clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bontrack.clinical.findings import Finding, finding
from bontrack.clinical.plan import LOT_NOT_CHOSEN, CheckRequest
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.models import Product


def lot_findings(req: CheckRequest, product: Product, kb: KnowledgeBase) -> list[Finding]:
    plan = req.plan
    if plan.lot_expiry < req.date:
        if plan.lot == LOT_NOT_CHOSEN:  # an expiry typed before a lot was picked
            message = f"The lot's expiry {plan.lot_expiry} is before the session date {req.date}."
        else:
            message = f"Lot {plan.lot} expired on {plan.lot_expiry}, before the session date {req.date}."
        return [
            finding(
                kb,
                "lot.expired",
                "block",
                message,
                kb.files.pathway.lot_expiry,
                "Use an in-date vial.",
            )
        ]
    return []


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def reconstitution_findings(req: CheckRequest, product: Product, kb: KnowledgeBase) -> list[Finding]:
    """Block past the usable window; warn when the window ends during the session day.

    A ready-to-use solution (MYOBLOC) given undiluted was not prepared: its window, which its
    label ties to dilution, does not apply (products.toml, usable_hours_after_preparation)."""
    plan = req.plan
    if plan.reconstituted_at is None or (product.form == "solution" and plan.diluent_ml == 0):
        return []
    fact = product.usable_hours_after_preparation
    window = timedelta(hours=fact.value)
    expires = plan.reconstituted_at + window
    name = product.name
    if plan.administered_at is not None:
        age = plan.administered_at - plan.reconstituted_at
        if age > window:
            return [
                finding(
                    kb,
                    "reconstitution.too_old",
                    "block",
                    f"Prepared {_hours(age)} before administration at {plan.administered_at:%Y-%m-%d %H:%M}; "
                    f"{name} is usable for {fact.value:g} h (until {expires:%Y-%m-%d %H:%M}).",
                    fact,
                    "Prepare a new vial.",
                )
            ]
        return []
    day_start = datetime.combine(req.date, time.min)
    day_end = day_start + timedelta(days=1)
    earliest = max(day_start, plan.reconstituted_at)
    if earliest - plan.reconstituted_at > window:
        return [
            finding(
                kb,
                "reconstitution.too_old",
                "block",
                f"Prepared at {plan.reconstituted_at:%Y-%m-%d %H:%M}: {name} is usable for {fact.value:g} h, "
                f"until {expires:%Y-%m-%d %H:%M}, before the session date {req.date}.",
                fact,
                "Prepare a new vial.",
            )
        ]
    if expires < day_end:
        return [
            finding(
                kb,
                "reconstitution.expires_today",
                "warn",
                f"Prepared at {plan.reconstituted_at:%Y-%m-%d %H:%M}: usable until {expires:%Y-%m-%d %H:%M}. "
                "Inject before then, or record the administration time for an exact check.",
                fact,
            )
        ]
    return []
