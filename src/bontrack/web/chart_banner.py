"""The chart's banner: what a clinician needs before deciding "can I inject today?".

Made from the records the chart has read already (no query of its own, no audit entry of its
own: the chart's reads are audited), judged by the decision engine's own rules and the
knowledge base's numbers:

- first, what stands against an injection today whatever is then planned: the engine's screening,
  interval and stop-and-review findings judged without a product (``clinical.standing``), from
  the same screening and earlier sessions a plan of today would be judged by
  (``injections.context``), blocks first; with no product chosen yet, a screening fact cites the
  botulinum toxin class's label fact and each product's own label section where one is recorded
  (``KnowledgeBase.cite_for``);
- medicines flagged as the engine reads them (``clinical.screening.medication_flags``), each
  entry once and at most ``web.entries.SHOWN_AT_MOST`` of them, every flagged one among them
  ("and N more" for the rest); allergies likewise, every known one shown;
- the next eligible date per product by the same-product interval (``clinical.retreatment``),
  "now" only when nothing blocks a plan of that product today;
- each cycle's response by the pathway's one rule (``injections.service.cycle_responses``);
- the screening's age by the engine's 30-day rule (``clinical.screening.screening_stale``);
- the adverse events still open (``injections.ae_terms.is_open``: by their status, or for a record
  saved without one by its outcome note's first word, shown as "status not recorded").
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bontrack.clinical.plan import PlanInputError
from bontrack.clinical.retreatment import next_eligible
from bontrack.clinical.screening import MedicationFlag, medication_flags, screening_stale
from bontrack.clinical.standing import Standing, before_planning
from bontrack.injections.ae_terms import is_open
from bontrack.injections.context import patient_context
from bontrack.injections.schemas import AdverseEventRead, SessionRead
from bontrack.injections.service import cycle_responses
from bontrack.knowledge import KnowledgeBase
from bontrack.knowledge.screening_names import allergies_named
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.listing import age_on
from bontrack.patients.schemas import PatientRead
from bontrack.screening.schemas import ScreeningRead
from bontrack.screening.service import latest_of
from bontrack.web.entries import at_most, once_each


@dataclass(frozen=True)
class Eligible:
    """The earliest date of a product's next session, whether that is today or earlier, and
    whether a finding that stands today blocks a plan of that product all the same."""

    product: str
    day: dt.date
    now: bool
    blocked: bool = False


@dataclass(frozen=True)
class Banner:
    age: int
    # what stands today, before any plan (clinical.standing); None: a stored record does not fit
    # the engine's input (a product it no longer knows), so nothing was judged
    standing: Standing | None = None
    allergies: list[tuple[str, str | None]] = field(default_factory=list)  # (as entered, known label)
    allergies_more: int = 0  # entries not shown (web.entries.at_most)
    medications: list[MedicationFlag] = field(default_factory=list)
    medications_more: int = 0
    screened_on: dt.date | None = None
    screening_days: int | None = None
    screening_stale: bool = False
    last_session: SessionRead | None = None
    last_product: str = ""
    eligible: list[Eligible] = field(default_factory=list)
    last_response: bool | None = None
    last_judged: tuple[dt.date, bool] | None = None  # the latest judged cycle, when the last is not
    open_events: list[AdverseEventRead] = field(default_factory=list)
    responses: dict[str, bool | None] = field(default_factory=dict)  # by session id


def product_name(product_id: str, kb: KnowledgeBase) -> str:
    """'onabotulinumtoxinA (Botox)': the product's display name (knowledge: Product.display_name)."""
    return kb.product_name(product_id)


def chart_banner(
    *,
    db: Session,
    actor: str,
    patient: PatientRead,
    sessions: list[SessionRead],
    screenings: list[ScreeningRead],
    outcomes: list[OutcomeRead],
    adverse_events: list[AdverseEventRead],
    today: dt.date,
    kb: KnowledgeBase,
) -> Banner:
    """The banner's facts from the chart's records (sessions, screenings, outcomes oldest first)."""
    screening = latest_of(screenings, today)
    responded = cycle_responses(
        db=db, actor=actor, patient_id=patient.id, sessions=sessions, outcomes=outcomes
    )
    standing = None
    with suppress(PlanInputError):
        ctx = patient_context(
            patient=patient, screening=screening, sessions=sessions, responded=responded, on=today, kb=kb
        )
        standing = before_planning(ctx, kb)
    blocked = standing.blocked if standing else ()
    in_order = [responded.get(s.id) for s in sessions]
    judged = [(s.data.date, r) for s, r in zip(sessions, in_order, strict=True) if r is not None]
    last = sessions[-1] if sessions else None
    allergies, allergies_more = at_most(
        [
            (name, "; ".join(m.item.label for m in named) if (named := allergies_named(name, kb)) else None)
            for name in once_each(screening.data.allergies if screening else [])
        ],
        always=lambda entry: entry[1] is not None,
    )
    medications, medications_more = at_most(
        medication_flags(once_each(screening.data.medications), kb) if screening else [],
        always=lambda flag: flag.severity in ("block", "warn"),
    )
    return Banner(
        age=age_on(patient.data.birth_date, today),
        standing=standing,
        allergies=allergies,
        allergies_more=allergies_more,
        medications=medications,
        medications_more=medications_more,
        screened_on=screening.data.date if screening else None,
        screening_days=(today - screening.data.date).days if screening else None,
        screening_stale=screening is not None and screening_stale(screening.data.date, today, kb),
        last_session=last,
        last_product=product_name(last.data.product, kb) if last else "",
        eligible=[
            Eligible(product_name(pid, kb), day, day <= today, pid in blocked)
            for pid, day in next_eligible(((s.data.date, s.data.product) for s in sessions), kb).items()
        ],
        last_response=in_order[-1] if in_order else None,
        last_judged=judged[-1] if judged and in_order[-1] is None else None,
        open_events=[e for e in adverse_events if is_open(e.data)],
        responses=responded,
    )
