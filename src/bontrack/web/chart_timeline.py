"""The chart's timeline: every record as a line, grouped by cycle (an injection and what followed
it), newest cycle first, with the therapy visits of each plan folded into one line per cycle.

A record that names its session (a follow-up measurement, an adverse event) belongs to that
session's cycle; any other belongs to the latest session on or before its date (before the first
session: "Before the first injection"). Within a cycle, lines are in date order, a screening or
examination of the injection day before the injection.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from bontrack.actor import PATIENT_LINK
from bontrack.injections.ae_terms import status_text, words
from bontrack.injections.schemas import Override, SessionRead
from bontrack.instruments.definitions import load_definition
from bontrack.knowledge import load_knowledge
from bontrack.web.display import product, units
from bontrack.web.entries import at_most, once_each
from bontrack.web.isolate import isolated, joined

# the timeline's filters: (category, label); a line of no chosen category is hidden
FILTERS = (
    ("injections", "Injections"),
    ("outcomes", "Outcomes"),
    ("therapy", "Therapy"),
    ("adverse_events", "Adverse events"),
    ("screening", "Screening and examinations"),
    ("worklist", "Worklist actions"),
    ("corrections", "Corrected or withdrawn"),
)
CATEGORIES = frozenset(c for c, _ in FILTERS)
# the order of lines on one day: what was checked before the injection comes first
_DAY_ORDER = {"Screening": 0, "Assessment": 1, "Injection": 2}


def _override_text(override: Override) -> dict[str, str]:
    """An override as the chart shows it: the reason (entered text, shown isolated), then the
    blocks acknowledged in words (a record saved before blocks were acknowledged: none)."""
    blocks = ", ".join(code.replace(".", " ").replace("_", " ") for code in override.acknowledged)
    return {"reason": override.reason, "blocks": blocks}


def _ref(record_type: str, record: Any) -> dict[str, Any]:
    """What the timeline's Correct, Withdraw and History links need to name the record."""
    return {
        "record_type": record_type,
        "id": record.id,
        "withdrawn": record.withdrawn,
        "withdrawn_reason": record.reason if record.withdrawn else None,
        "corrected": record.version > 1,
    }


def patient_reported(outcome: Any) -> bool:
    """Filled in by the patient through a one-time link (marked when saved; older records: by
    the link being the actor that recorded them)."""
    by_link = outcome.recorded_by.startswith(PATIENT_LINK)
    return bool(getattr(outcome.data, "patient_reported", False)) or by_link


def timeline_rows(**records: list[Any]) -> list[dict[str, Any]]:
    """Every record as one line of the chart's timeline (not yet grouped); a line's ``text`` is
    Markup, what a person entered in it isolated (``bontrack.web.isolate``)."""
    rows: list[dict[str, Any]] = []
    kb = load_knowledge()
    for a in records["assessments"]:
        tps = ", ".join(f"{kb.files.muscles[t.muscle].name} ({t.side})" for t in a.data.trigger_points)
        text = Markup("Trigger points: {}").format(tps or "none")
        if a.data.pressure_pain_thresholds:
            ppts = ", ".join(
                f"{kb.files.muscles[p.muscle].name} ({p.side}) {p.value:g} {p.unit}"
                for p in a.data.pressure_pain_thresholds
            )
            text += Markup(". Pressure-pain thresholds: {}").format(ppts)
        rows.append(
            {"date": a.data.date, "kind": "Assessment", "category": "screening", "text": text}
            | _ref("assessment", a)
        )
    for s in records["screenings"]:
        listed, more = at_most(once_each([*s.data.allergies, *s.data.conditions, *s.data.medications]))
        items = [*listed, *([f"and {more:,} more"] if more else [])]
        flags = [
            n for n in ("pregnant", "breastfeeding", "infection_at_injection_site") if getattr(s.data, n)
        ]
        said = [Markup.escape(f.replace("_", " ")) for f in flags] + [isolated(i) for i in items]
        text = Markup(", ").join(said) or Markup("nothing of note")
        rows.append(
            {"date": s.data.date, "kind": "Screening", "category": "screening", "text": text}
            | _ref("screening", s)
        )
    for sess in records["sessions"]:
        d = sess.data
        rows.append(
            {
                "date": d.date,
                "kind": "Injection",
                "category": "injections",
                "text": Markup("{} {} U at {} ({})").format(
                    product(d.product), units(d.total_units), _count(len(d.sites), "site"), d.guidance
                ),
                "decision": d.decision.decision,
                "override": _override_text(d.override) if d.override else None,
                "session_id": sess.id,
                "of_session": sess.id,
            }
            | _ref("injection_session", sess)
        )
    for e in records["adverse_events"]:
        text = Markup("{} ({}{})").format(
            isolated(e.data.event), e.data.severity, ", serious" if e.data.serious else ""
        )
        text += Markup(" · {}").format(status_text(e.data))
        if e.data.outcome:
            text += Markup(": {}").format(isolated(e.data.outcome))
        if e.data.relatedness:
            text += Markup(" · relation to the injection: {}").format(
                words("relatedness", e.data.relatedness)
            )
        rows.append(
            {
                "date": e.data.onset_date,
                "kind": "Adverse event",
                "category": "adverse_events",
                "text": text,
                "of_session": e.data.session_id,
            }
            | _ref("adverse_event", e)
        )
    for p in records["plans"]:
        text = Markup("{}, {} a week: {}").format(
            _count(p.data.weeks, "week"), _count(p.data.visits_per_week, "visit"), joined(p.data.goals) or "-"
        )
        rows.append(
            {"date": p.data.start_date, "kind": "Therapy plan", "category": "therapy", "text": text}
            | _ref("therapy_plan", p)
        )
    for v in records["visits"]:
        text = Markup("attended" if v.data.attended else "missed")
        if v.data.notes:
            text += Markup(": {}").format(isolated(v.data.notes))
        rows.append(
            {
                "date": v.data.date,
                "kind": "Therapy visit",
                "category": "therapy",
                "text": text,
                "plan_id": v.data.plan_id,
                "attended": v.data.attended,
            }
            | _ref("therapy_visit", v)
        )
    for o in records["outcomes"]:
        definition = load_definition(o.data.instrument)
        value = o.data.scoring.scores.get(definition.primary_score)
        score = definition.scores[definition.primary_score]
        shown = f"{round(value, 1):g} {score.unit}" if value is not None else "not scored"
        when = f" ({o.data.weeks_after_session} weeks after injection)" if o.data.weeks_after_session else ""
        label = score.label.removeprefix(definition.short_name).strip() or score.label
        rows.append(
            {
                "date": o.data.date,
                "kind": definition.short_name,
                "category": "outcomes",
                "text": Markup("{} {}{}").format(label, shown, when),
                "of_session": o.data.session_id,
                "patient_reported": patient_reported(o),
            }
            | _ref("outcome", o)
        )
    return rows


def _fold_therapy(rows: list[dict[str, Any]], plans: dict[str, str]) -> list[dict[str, Any]]:
    """The therapy visits of one plan within a cycle as one line (at its first visit), the visits
    inside it; a single visit stays a line of its own."""
    by_plan: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] == "Therapy visit" and not row["withdrawn"]:
            by_plan.setdefault(row["plan_id"], []).append(row)
    out = []
    for row in rows:
        visits = by_plan.get(row.get("plan_id", ""), []) if row["kind"] == "Therapy visit" else []
        if len(visits) < 2 or row["withdrawn"]:
            out.append(row)
        elif row is visits[0]:
            attended = sum(1 for v in visits if v["attended"])
            missed = len(visits) - attended
            text = Markup("{} visits from {} to {}: {} attended").format(
                len(visits), visits[0]["date"], visits[-1]["date"], attended
            )
            out.append(
                {
                    "date": row["date"],
                    "kind": "Therapy visits",
                    "category": "therapy",
                    "text": text + (Markup(", {} missed").format(missed) if missed else ""),
                    "plan": plans.get(row["plan_id"], ""),
                    "folded": visits,
                    "corrected": any(v["corrected"] for v in visits),
                    "withdrawn": False,
                }
            )
    return out


def _shown(row: dict[str, Any], show: frozenset[str]) -> bool:
    if not show:
        return True
    corrected = row.get("corrected") or row.get("withdrawn")
    return row["category"] in show or ("corrections" in show and bool(corrected))


def cycles(
    rows: list[dict[str, Any]],
    sessions: list[SessionRead],
    plans: dict[str, str],
    show: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """The lines grouped by cycle, newest cycle first: ``{"number", "session", "rows"}`` (number 0
    and no session: before the first injection); only lines of the ``show`` categories (all when
    empty), and cycles left with none are dropped."""
    order = {s.id: n for n, s in enumerate(sessions, start=1)}
    starts = [(s.data.date, n) for n, s in enumerate(sessions, start=1)]

    def cycle_of(row: dict[str, Any]) -> int:
        if row.get("of_session") in order:
            return order[row["of_session"]]
        day: dt.date = row["date"]
        return max((n for start, n in starts if start <= day), default=0)

    groups: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(cycle_of(row), []).append(row)
    out = []
    for number in sorted(groups, reverse=True):
        lines = sorted(groups[number], key=lambda r: (r["date"], _DAY_ORDER.get(r["kind"], 3)))
        lines = [r for r in _fold_therapy(lines, plans) if _shown(r, show)]
        if lines:
            session = sessions[number - 1] if number else None
            out.append({"number": number, "session": session, "rows": lines})
    return out


def _count(n: int, noun: str) -> str:
    """``1 site``, ``3 sites``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
