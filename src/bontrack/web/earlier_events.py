"""The adverse events the injection session form shows before anything is planned: those of the
patient's earlier sessions that are still open or were serious, so the physician planning the next
injection sees them (QA pass 4, finding 8). Open as the chart banner judges it
(``injections.ae_terms.is_open``); serious whatever its status now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bontrack.injections.ae_terms import is_open
from bontrack.injections.schemas import AdverseEventRead, SessionRead
from bontrack.injections.service import adverse_events_of_patient, sessions_of_patient
from bontrack.knowledge import KnowledgeBase, load_knowledge


def session_words(session: SessionRead | None, kb: KnowledgeBase) -> str:
    """A session as the pages word it: "the session of 2026-11-03 (abobotulinumtoxinA
    (Dysport))"; not found: "the session of an unknown date"."""
    if session is None:
        return "the session of an unknown date"
    return f"the session of {session.data.date} ({kb.product_name(session.data.product)})"


@dataclass(frozen=True)
class EarlierEvent:
    """An open or serious event, with the date and product of the session it followed."""

    event: AdverseEventRead
    open: bool
    session_date: dt.date | None
    product: str  # the product's name ("" when the session is not found)
    session_words: str  # "the session of 2026-11-03 (abobotulinumtoxinA (Dysport))"


def open_or_serious(
    *, db: Session, actor: str, patient_id: str, leave_out: str | None = None
) -> list[EarlierEvent]:
    """The patient's open or serious adverse events, newest onset first; ``leave_out``: the
    session being corrected (its own events are not of an earlier session)."""
    events = [
        e
        for e in adverse_events_of_patient(db=db, actor=actor, patient_id=patient_id)
        if (e.data.serious or is_open(e.data)) and e.data.session_id != leave_out
    ]
    if not events:
        return []
    kb = load_knowledge()
    sessions = {s.id: s for s in sessions_of_patient(db=db, actor=actor, patient_id=patient_id)}
    found = []
    for e in reversed(events):
        session = sessions.get(e.data.session_id)
        found.append(
            EarlierEvent(
                event=e,
                open=is_open(e.data),
                session_date=session.data.date if session else None,
                product=kb.product_name(session.data.product) if session else "",
                session_words=session_words(session, kb),
            )
        )
    return found
