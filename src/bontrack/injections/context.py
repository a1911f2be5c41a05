"""The engine's view of a patient from stored records: the screening answers and the earlier
sessions as a check document gives them.

One builder for both uses, so the engine reads the same patient whether it judges a plan
(``service.judge``) or what stands before one (``clinical.standing``: the chart's banner and the
opening injection form).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from bontrack.clinical.plan import PatientContext, parse_patient_context
from bontrack.injections.schemas import SessionRead
from bontrack.knowledge import KnowledgeBase
from bontrack.patients.schemas import PatientRead
from bontrack.screening.schemas import ScreeningRead

# the screening's answers the engine reads (its date is given as screened_on)
ANSWERS = {
    "pregnant",
    "breastfeeding",
    "infection_at_injection_site",
    "allergies",
    "conditions",
    "medications",
}


def patient_document(patient: PatientRead, screening: ScreeningRead | None) -> dict[str, Any]:
    """The check document's ``patient``: birth date and sex, and the screening's answers and date.
    No screening at all: no answers and no date, which the engine warns about."""
    doc: dict[str, Any] = {"birth_date": patient.data.birth_date.isoformat(), "sex": patient.data.sex}
    if screening is not None:
        doc |= screening.data.model_dump(mode="json", include=ANSWERS)
        doc["screened_on"] = screening.data.date.isoformat()
    return doc


def history_document(
    sessions: Iterable[SessionRead], responded: Mapping[str, bool | None]
) -> list[dict[str, Any]]:
    """The check document's ``history``: each earlier session, and whether its cycle responded
    (``service.cycle_responses``; None: not judged)."""
    return [
        {
            "date": s.data.date.isoformat(),
            "product": s.data.product,
            "total_units": s.data.total_units,
            "responded": responded.get(s.id),
        }
        for s in sessions
    ]


def patient_context(
    *,
    patient: PatientRead,
    screening: ScreeningRead | None,
    sessions: Iterable[SessionRead],
    responded: Mapping[str, bool | None],
    on: dt.date,
    kb: KnowledgeBase,
) -> PatientContext:
    """The patient on ``on`` as the engine reads them before any plan: ``screening`` is the one a
    plan of that day would be judged by (``screening.service.latest_of``); sessions after that day
    are left out. Raises PlanInputError when a stored record does not fit (a product the knowledge
    base no longer knows)."""
    doc = {
        "date": on.isoformat(),
        "patient": patient_document(patient, screening),
        "history": history_document((s for s in sessions if s.data.date <= on), responded),
    }
    return parse_patient_context(doc, kb)
