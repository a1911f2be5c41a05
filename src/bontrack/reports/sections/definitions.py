"""The report's definitions: how each number is made, in words, with the knowledge base's numbers."""

from __future__ import annotations

from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.sections.common import MIN_GROUP, MIN_JUDGED, TOO_FEW, TRAJECTORY_MAX_CYCLES

# The words of each definition; {names} are filled from the knowledge base and the report's settings.
TEXT = {
    "as_of": "Only records whose clinical date is on or before the report date: sessions by their date, "
    "outcomes by their date, adverse events by the date they were reported. A patient is counted when "
    "they have a session or an outcome on or before it. A visit due after it is neither missing nor counted.",
    "baseline": "A cycle's baseline is the patient's last score on or before the injection day.",
    "each_score_once": "A score belongs to one cycle and one visit: a score that is cycle k's baseline is "
    "cycle k's week-0 point and not also a follow-up of cycle k-1. n_observations counts distinct scores.",
    "completeness": "Scored visits / visits due on or before the report date (session date + visit week "
    "<= report date); a visit is scored when an {pain} is linked to that session and week.",
    "responder_rates": "Per visit week, share of judged cycles whose score improved by the stated amount "
    "on the cycle's baseline (baseline 0: not judged for percentages).",
    "first_cycles": "Each patient's first cycle only (independent): plain Wilson 95% interval; mean "
    "change with an ordinary t interval.",
    "all_cycles": "Every cycle, with k patients, y_i responders among m_i judged cycles of patient i, "
    "n = sum m_i, p = sum y_i / n: v = k/(k-1) * sum_i (y_i - p m_i)^2 / n^2, n_eff = min(n, p(1-p)/v) "
    "(n when v = 0 or p is 0 or 1), Wilson's interval with n_eff in place of n. Mean change: "
    "cluster-robust standard error with the same sum over patients, t with k-1 degrees of freedom.",
    "small_numbers": "A row with fewer than {min_judged} judged cycles shows its counts only ('{too_few}'): "
    "no rate, no interval, no bar. Missing numbers are null in JSON.",
    "cycle_response": "A cycle responded when its {pain} at the week-{first_week} visit{fallback} is at "
    "least {percent}% {below} its baseline; never judged on {unjudged} alone; a baseline of 0 is not judged. "
    "Stop-and-review, in this report, the worklist and the injection plan's warning, uses this one rule.",
    "duration_of_benefit": "A cycle had benefit if some follow-up is at least the MCID "
    "({pain} {mcid} points) better than its baseline. Loss = the first later follow-up that is not. "
    "A cycle whose next injection "
    "(or last follow-up) comes before any loss is censored at its last follow-up still showing benefit. "
    "Kaplan-Meier on days from injection; median where S(t) <= 0.5 ('not reached' otherwise) with the "
    "log-log interval; sensitivity: Turnbull's NPMLE with each loss in (last visit with benefit, "
    "loss visit].",
    "adverse_events": "Per session, over sessions dated at least the adverse-event window "
    "({window} days: the {window_weeks}-week visit is due) before the report date; "
    "interval as for all cycles (clustered by patient). Events are one event when their texts are "
    "after Unicode NFKC, case folding and white space made one space (none at the ends), or when "
    "the knowledge base names the text as another name of a label's reaction.",
    "serious_events": "Per product, over the same sessions as the adverse events: events recorded "
    "as serious, patients with one, and sessions with one (rate and interval as for the adverse "
    "events; fewer than {min_judged} sessions: {too_few}).",
    "comparisons": "Pain improvement at the main week of each patient's first cycle (one row per patient, "
    "so ordinary Welch standard errors are patient-clustered); Hedges' g's interval is the difference's "
    "divided by the pooled SD. Words follow the difference's interval: includes 0 -> 'no clear "
    "difference'; excludes it -> better or worse by the difference.",
    "trajectories": "Linear mixed model, random intercept per patient, by exact REML; cycles 1-{max_cycles}; "
    "visits with at least {min_group} patients.",
}


def definitions(kb: KnowledgeBase) -> dict[str, str]:
    """The ``definitions`` object of the report's JSON (and its glossary), by key."""
    rule = kb.files.pathway.cycle_response
    instrument = load_definition(rule.instrument)
    pain = instrument.short_name
    judged = list(rule.judged_at_weeks)
    fallback = "".join(f" (if missing, at week {w})" for w in judged[1:])
    below = "below" if instrument.scores[rule.score].better == "lower" else "above"
    others = [w for w in kb.files.pathway.outcome_visit_weeks.weeks if w not in judged]
    unjudged = " or ".join(f"week {w}" for w in others) if others else "another visit"
    fact = kb.files.outcomes.mcid.get(rule.instrument, {}).get(rule.score)
    mcid = f"{fact.value:g}" if fact is not None and fact.value is not None else "unknown"
    window = kb.files.pathway.adverse_event_window_days.value
    values = {
        "pain": pain,
        "first_week": judged[0],
        "fallback": fallback,
        "percent": f"{rule.min_improvement_percent:g}",
        "below": below,
        "unjudged": unjudged,
        "mcid": mcid,
        "window": f"{window:g}",
        "window_weeks": f"{window / 7:g}",
        "max_cycles": TRAJECTORY_MAX_CYCLES,
        "min_group": MIN_GROUP,
        "min_judged": MIN_JUDGED,
        "too_few": TOO_FEW,
    }
    return {key: text.format(**values) for key, text in TEXT.items()}
