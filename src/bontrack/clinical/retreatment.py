"""History rules: retreatment interval, other toxins, rolling cumulative dose, stop-and-review.

Doses are summed per product only: units of one product are never converted into another's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bontrack.clinical.dosing import fmt, over
from bontrack.clinical.findings import Finding, days_ago, finding
from bontrack.clinical.plan import CheckRequest, Context, PastSession
from bontrack.clinical.review import lapsed, review_run
from bontrack.dates import shift
from bontrack.knowledge import KnowledgeBase


def _days(req: Context, past: PastSession) -> int:
    return (req.date - past.date).days


def earliest_same_product(last: date, product_id: str, kb: KnowledgeBase) -> date:
    """The first day another session of ``product_id`` is not too soon after one on ``last``
    (retreatment.too_soon: the product's min_retreatment_days)."""
    return shift(last, int(kb.product(product_id).min_retreatment_days.value))  # a stored year 9999 stays


def next_eligible(history: Iterable[tuple[date, str]], kb: KnowledgeBase) -> dict[str, date]:
    """Per product given (``(date, product)`` of past sessions): the earliest date of its next
    session by the engine's same-product interval rule (a product given once is keyed by its id)."""
    last: dict[str, date] = {}
    for day, product in history:
        pid = kb.product_id(product) or product
        last[pid] = max(day, last.get(pid, day))
    return {pid: earliest_same_product(day, pid, kb) for pid, day in sorted(last.items())}


def interval_findings(req: Context, product_id: str, kb: KnowledgeBase) -> list[Finding]:
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
        if days == 0:
            out.append(_same_day(req, product_id, [p for p in same if p.date == req.date], kb))
        elif days < fact.value:
            earliest = earliest_same_product(last.date, product_id, kb)
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


def _same_day(req: Context, product_id: str, that_day: list[PastSession], kb: KnowledgeBase) -> Finding:
    """retreatment.too_soon on the day of an earlier session of the same product: a second
    session that day would count as another treatment cycle, so the sites given that day belong
    in the session already recorded (corrected), not in a new one."""
    fact = kb.product(product_id).min_retreatment_days
    earliest = earliest_same_product(req.date, product_id, kb)
    units = ", ".join(f"{fmt(p.total_units)} U" for p in that_day)
    if len(that_day) == 1:
        already = f"A session of {product_id} was already recorded on the same day ({req.date}, {units})"
        which = "that session"
    else:
        already = (
            f"{len(that_day)} sessions of {product_id} were already recorded on the same day "
            f"({req.date}: {units})"
        )
        which = "one of those sessions"
    return finding(
        kb,
        "retreatment.too_soon",
        "block",
        f"{already}: another session that day would count as a new treatment cycle. Sites given that "
        f"day are added by correcting {which}, not saved as a new session. The minimum interval is "
        f"{fact.value:g} days; the next session is due on or after {earliest}.",
        fact,
        f"Correct the session of {req.date} to add these sites (its total and limits are judged again); "
        "do not save a second session.",
    )


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


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # every month has a 28th


def label_interval_findings(req: CheckRequest, product_id: str, kb: KnowledgeBase) -> list[Finding]:
    """A label interval in months that is longer than the pathway's window: doses given between the
    window's end and the label's interval that take the total above the limit warn."""
    product = kb.product(product_id)
    months = product.cumulative_label_months
    if months is None:
        return []
    window = kb.files.pathway.cumulative_window_days.value
    start = months_before(req.date, int(months.value))
    same = [p for p in req.history if kb.product_id(p.product) == product_id and p.date > start]
    gap = [p for p in same if _days(req, p) >= window]
    planned = sum(s.units for s in req.plan.sites)
    total = planned + sum(p.total_units for p in same)
    limit = product.max_units_rolling_12_weeks
    if not gap or not over(total, limit.value):
        return []
    given = "; ".join(f"{fmt(p.total_units)} U on {p.date}" for p in sorted(same, key=lambda p: p.date))
    return [
        finding(
            kb,
            "dose.cumulative_label_interval",
            "warn",
            f"{product_id} in the last {months.value:g} months ({given}) plus {fmt(planned)} U planned is "
            f"{fmt(total)} U, above the label's {fmt(limit.value)} U in a {months.value:g}-month interval.",
            months,
            f"Lower the dose, or wait until {months_before(min(p.date for p in gap), -int(months.value))}.",
        )
    ]


def stop_review_findings(req: Context, kb: KnowledgeBase) -> list[Finding]:
    """The latest N judged cycles all non-responses: stop and review before another
    (``review.review_run``, the worklist's and the report's rule too; N = 0: never). A cycle not
    judged whose week-12 visit has passed by the plan date is skipped and named; one still
    awaiting its visits breaks the run."""
    fact = kb.files.pathway.stop_review_cycles_without_response
    rule = kb.files.pathway.cycle_response
    n = int(fact.value)
    latest = sorted(req.history, key=lambda p: p.date)
    missed = [p.responded is None and lapsed(p.date, req.date, rule.judged_at_weeks) for p in latest]
    run = review_run([p.responded for p in latest], n, missed)
    if run is None:
        return []
    fall = f"{rule.min_improvement_percent:g}% fall in pain"
    last_week = max(rule.judged_at_weeks)
    if run:
        days = ", ".join(str(latest[i].date) for i in run)
        which = f"the cycle of {days} was" if len(run) == 1 else f"the cycles of {days} were"
        said = f"The last {n} judged cycles brought no {fall} ({which} not judged by week {last_week})"
    else:
        said = f"The last {n} cycles brought no {fall}"
    return [
        finding(
            kb,
            "pathway.stop_and_review",
            "warn",
            f"{said}: stop and review before another injection.",
            fact,
            "Reassess the diagnosis, the muscles chosen and the therapy plan; consider stopping.",
        )
    ]
