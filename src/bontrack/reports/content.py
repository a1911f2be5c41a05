"""The clinic report assembled: every section (reports.sections) computed from the cohort frames.

Pure: frames and the knowledge base in, a ``Report`` out (no database, no files). The HTML, PDF
and JSON faces render this one object, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from bontrack.analytics.cycles import cycle_outcomes, judged_rows, number_cycles
from bontrack.analytics.review import responses
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge.loader import KnowledgeBase
from bontrack.reports.cycle_rows import NARROW, SECTIONS, Rows, rows_call, visits_call, visits_scored_call
from bontrack.reports.data import CohortFrames
from bontrack.reports.plain import plain
from bontrack.reports.sections.adverse_events import EventRow, SeriousRow, adverse_events
from bontrack.reports.sections.common import MIN_JUDGED, TRAJECTORY_MAX_CYCLES, response_rule
from bontrack.reports.sections.comparisons import ComparisonRow, comparisons
from bontrack.reports.sections.definitions import definitions
from bontrack.reports.sections.duration import Duration, duration
from bontrack.reports.sections.evidence import Evidence, evidence
from bontrack.reports.sections.frames import as_of, coded, dates_at_the_edge
from bontrack.reports.sections.profile import ProfileRow, profile, rand36_scales
from bontrack.reports.sections.responders import Mean, Rate, lasting_relief, means, rates
from bontrack.reports.sections.review import ReviewRow, review
from bontrack.reports.sections.summary import summary
from bontrack.reports.sections.trajectories import TrajectorySeries, fitted, trajectory
from bontrack.reports.sections.waste import WasteRow, waste

__all__ = ["MIN_JUDGED", "Report", "as_of", "build_report"]


@dataclass(kw_only=True)
class Report:
    """Every number of the clinic report; ``to_dict`` is its JSON (no NaN or infinity)."""

    generated_on: str  # the report date D: "as of D"
    knowledge_version: str
    summary: dict[str, Any]
    responders: list[Rate]
    changes: list[Mean]
    duration: Duration | None
    lasting_relief: dict[str, int]
    trajectories: list[TrajectorySeries]
    rand36_profile: list[ProfileRow]
    adverse_events: list[EventRow]
    label_adverse_source: str | None
    serious_events: list[SeriousRow] = field(default_factory=list)  # per product (sections.adverse_events)
    comparisons: list[ComparisonRow]
    comparisons_skipped: list[str]
    evidence: Evidence
    stop_and_review: list[ReviewRow]
    caveats: list[str] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=dict)
    waste: list[WasteRow] = field(default_factory=list)  # per month and product (sections.waste)
    covers: str = ""  # the clinic or clinics it covers, in words ("" where the reader knows it)

    def to_dict(self) -> dict[str, Any]:
        """``finite(asdict(self))``, in one pass (``reports.plain``)."""
        out: dict[str, Any] = plain(self)
        return out


def _named(instrument: str, score: str, *, short: bool = False, scale: bool = False) -> str:
    """A score as the report names it, from its definition: "NPRS 0-10", "RAND-36 bodily pain 0-100"."""
    d = load_definition(instrument)
    sd = d.scores[score]
    name = d.short_name if short else d.name
    return f"{name}{' ' + sd.label.lower() if scale else ''} {sd.low:g}-{sd.high:g}"


def build_report(frames: CohortFrames, kb: KnowledgeBase, *, today: date) -> Report:
    """Every section of the clinic report from the cohort frames, as of ``today``."""
    visit_weeks = list(kb.files.pathway.outcome_visit_weeks.weeks)
    main_week = sorted(visit_weeks)[len(visit_weeks) // 2]  # the knowledge base lists at least one
    last_week = max(visit_weeks)
    as_read = frames  # (the waste is counted on these, not as_of's: it keeps only the frames it knows)
    at_edge = dates_at_the_edge(frames)  # before as_of: a year-9999 date is after any report date
    # (these two ask DuckDB before the plan below: once it starts, the connection is its thread's)
    frames = as_of(coded(frames), today)
    computed: dict[tuple[str, str], pd.DataFrame] = {}
    pathway_rule = kb.files.pathway.cycle_response  # its rows: the same score's, judged by its own rule
    # only the pain score's rows (and the pathway rule's) are kept: most sections read them. Each
    # other score's rows are computed, read by their few sections and let go before the next
    # score's (at 1,000,000 patients a score's rows are millions), keeping only the small part
    # the RAND-36 profile reads (first cycles at the last visit week); so memory holds two
    # scores' rows at most, not five
    kept = {("nprs", "pain_intensity"), (pathway_rule.instrument, pathway_rule.score)}
    # the RAND-36 profile's rows of the scores read above (first cycles at the last visit week)
    first_at_last: dict[tuple[str, str], pd.DataFrame] = {}

    def columns_of(key: tuple[str, str]) -> tuple[str, ...]:
        """The columns ``outcomes`` reads of a score from DuckDB."""
        return SECTIONS if key in kept else NARROW

    def outcomes(instrument: str, score: str) -> pd.DataFrame:
        """``cycle_outcomes`` of one score by ``response_rule``, computed once per kept score;
        from DuckDB only the columns the sections read (``SECTIONS``; of a score not kept ``NARROW``)."""
        key = (instrument, score)
        if key in computed:
            return computed[key]
        rule = response_rule(kb, instrument, score)
        if frames.cycle_rows is not None:  # joined by DuckDB as of the day, judged here
            rows = judged_rows(
                frames.cycle_rows.rows(instrument, score, today, columns=columns_of(key)), rule
            )
        else:
            rows = cycle_outcomes(frames.sessions, frames.measurements, rule)
        if key in kept:
            computed[key] = rows
        return rows

    def profiled(instrument: str, score: str) -> pd.DataFrame:
        """The rows the RAND-36 profile reads (first cycles at the last visit week, among
        ``outcomes``): those kept when the score's rows were read, else (of a score not read
        before) DuckDB joins only those."""
        key = (instrument, score)
        if key in first_at_last:
            return first_at_last[key]
        if frames.cycle_rows is None or key in kept:
            return outcomes(instrument, score)
        only = frames.cycle_rows.rows(instrument, score, today, cycle=1, weeks=last_week)
        return judged_rows(only, response_rule(kb, instrument, score))

    def trajectory_of(instrument: str, score: str, rows: pd.DataFrame, label: str) -> TrajectorySeries | None:
        """The score's trajectory: from its visits as DuckDB makes them (``CycleRows.visits``),
        else from its rows (``analytics.trajectories.visit_frame``)."""
        if frames.cycle_rows is None:
            return trajectory(rows, instrument, label)
        if rows.empty:
            return None
        visits = frames.cycle_rows.visits(instrument, score, today, max_cycle=TRAJECTORY_MAX_CYCLES)
        return fitted(visits, instrument, label)

    def let_go(instrument: str, score: str, rows: pd.DataFrame) -> None:
        """Keep of a score's rows, before they are let go, the part the profile reads."""
        if instrument == "rand36":
            first_at_last[(instrument, score)] = rows[(rows["cycle"] == 1) & (rows["weeks"] == last_week)]

    if frames.cycle_rows is not None:  # DuckDB's work in the order it is read below, each made ahead
        joined = [
            ("nprs", "pain_intensity"),
            ("ndi", "total"),
            ("rand36", "pain"),
            ("rand36", "emotional_wellbeing"),
        ]
        calls = [rows_call(Rows(*key, today, columns=columns_of(key))) for key in joined]
        visits = [visits_call(*key, today, max_cycle=TRAJECTORY_MAX_CYCLES) for key in joined[:2]]
        # then the summary's scored visits, and the profile's rows of the scales not read above
        profiled_rows = [
            rows_call(Rows("rand36", scale, today, cycle=1, weeks=last_week))
            for scale in rand36_scales()
            if ("rand36", scale) not in joined
        ]
        later = [visits_scored_call("nprs", today), *profiled_rows]
        frames.cycle_rows.plan([calls[0], visits[0], calls[1], visits[1], *calls[2:], *later])
    # what reads none of DuckDB's rows, while it joins the pain score's
    toxin_waste = waste(as_read, today)
    frames = replace(frames, sessions=number_cycles(frames.sessions))
    events = adverse_events(frames, kb, today)
    nprs = outcomes("nprs", "pain_intensity")
    nprs_trajectory = trajectory_of("nprs", "pain_intensity", nprs, "Pain (NPRS 0-10)")
    t = kb.files.outcomes.responder_thresholds
    mod, sub = t.moderate_percent.value, t.substantial_percent.value
    ndi_mcid = kb.files.outcomes.mcid["ndi"]["total"].value
    nprs_mcid = kb.files.outcomes.mcid["nprs"]["pain_intensity"].value
    # the pain score's sections in two parts, each while DuckDB joins the next score's rows (so
    # neither waits long for the other); each other score read by its sections in turn (the
    # lists keep the report's order)
    nprs_rates = rates(nprs, "responder_moderate", f"Pain (NPRS) at least {mod:g}% lower") + rates(
        nprs, "responder_substantial", f"Pain (NPRS) at least {sub:g}% lower"
    )
    nprs_means = means(nprs, f"Pain, {_named('nprs', 'pain_intensity', short=True)} (points better)")
    benefit = duration(nprs, nprs_mcid) if len(nprs) and nprs_mcid is not None else None
    ndi = outcomes("ndi", "total")
    ndi_rates = rates(ndi, "mcid_met", f"Neck Disability Index at least {ndi_mcid:g} points better")
    ndi_means = means(ndi, f"{_named('ndi', 'total')} (points better)")
    ndi_trajectory = trajectory_of("ndi", "total", ndi, "Neck Disability Index (0-50)")
    del ndi
    # the first cycles' pain at the main week, as the comparisons and the evidence read it (their
    # columns only: not a copy of every column of every first cycle's rows)
    read = ["session_id", "weeks", "improvement", "responder_moderate"]
    first = (
        nprs.loc[(nprs["cycle"] == 1).to_numpy() & (nprs["weeks"] == main_week).to_numpy(), read]
        if len(nprs)
        else nprs
    )
    compared = comparisons(frames, first, main_week)
    cycles_wo = int(kb.files.pathway.stop_review_cycles_without_response.value)
    responded = responses(
        frames.sessions,
        frames.measurements,
        kb,
        rows=outcomes(pathway_rule.instrument, pathway_rule.score)
        if len(frames.measurements) or frames.cycle_rows is not None
        else None,
    )
    stop_and_review = review(frames, kb, responded, today=today)
    rand_means = []
    for scale in ("pain", "emotional_wellbeing"):
        rows = outcomes("rand36", scale)
        rand_means += means(rows, f"{_named('rand36', scale, short=True, scale=True)} (points better)")
        let_go("rand36", scale, rows)
        del rows
    responders = nprs_rates + ndi_rates
    changes = nprs_means + ndi_means + rand_means
    trajectories = [s for s in (nprs_trajectory, ndi_trajectory) if s is not None]
    event_counts = events.counts
    window = event_counts["adverse_event_window_days"]
    recent = event_counts["sessions_too_recent_for_adverse_events"]
    caveats = [
        "Nobody in this registry was randomized: differences between groups are associations, not effects.",
        f"Outcome visits are scheduled {', '.join(str(w) for w in visit_weeks)} weeks after each "
        "injection; missed visits are missing, not counted as failures, so rates describe the patients "
        "who came back. Visits not yet due on the report date are neither missing nor counted.",
        "Each responder and mean-change row is given for each patient's first cycle (independent "
        "patients) and for all cycles, whose intervals allow for a patient's cycles being alike "
        f"(n_eff, k patients). Rows with fewer than {MIN_JUDGED} judged cycles show counts only.",
        f"Duration of benefit counts cycles whose pain improved by at least {nprs_mcid:g} points (the "
        "MCID) at some visit; loss is dated at the visit that found it, so the curve steps only on "
        "visit days; a re-injection before any loss censors the cycle (it is not a loss).",
        f"Adverse events are rated over sessions at least {window} days old "
        f"({recent} more recent session{'' if recent == 1 else 's'} left out: "
        f"{'its' if recent == 1 else 'their'} events may not be reported yet).",
    ]
    if at_edge:
        caveats.append(
            f"{at_edge} session or measurement date{'s' if at_edge > 1 else ''} lay outside 1900 to 2100 "
            "(a typing error, or imported from elsewhere) and "
            f"{'were' if at_edge > 1 else 'was'} taken as 1900-01-01 or 2100-12-31 (a date after "
            "this report's is left out): correct them."
        )
    return Report(
        generated_on=today.isoformat(),
        knowledge_version=kb.version,
        summary=summary(frames, nprs, visit_weeks, today, pain="nprs")
        | event_counts
        | {
            "cycles_judged_for_response": int(responded["responded"].notna().sum()),
            "cycles_responded": int((responded["responded"] == True).sum()),  # noqa: E712
            "main_week": main_week,
            "moderate_percent": mod,
            "review_cycles": cycles_wo,
            "review_percent": kb.files.pathway.cycle_response.min_improvement_percent,
            "review_judged_at_weeks": list(kb.files.pathway.cycle_response.judged_at_weeks),
            "profile_week": last_week,
            "visit_weeks": visit_weeks,
            "min_judged": MIN_JUDGED,
        },
        responders=responders,
        changes=changes,
        duration=benefit,
        lasting_relief=lasting_relief(nprs, last_week),
        trajectories=trajectories,
        rand36_profile=profile(frames, kb, last_week, profiled),
        adverse_events=events.rows,
        label_adverse_source=events.label_source,
        serious_events=events.serious,
        comparisons=compared.rows,
        comparisons_skipped=compared.skipped,
        evidence=evidence(first, main_week, mod),
        stop_and_review=stop_and_review,
        caveats=caveats,
        definitions=definitions(kb),
        waste=toxin_waste,
    )
