"""The injections domain's record kinds: injection sessions and the adverse events after them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow, SessionFieldRow
from bontrack.injections.schemas import (
    AdverseEventCreate,
    AdverseEventRead,
    SessionCreate,
    SessionRead,
    SessionRecord,
)
from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_ADVERSE_EVENTS, WRITE_SESSIONS
from bontrack.storage import derived


def _session(data: Mapping[str, Any]) -> str:
    return f"{data.get('product')} {data.get('total_units', 0):g} U"


def _adverse_event(data: Mapping[str, Any]) -> str:
    return str(data.get("event"))


INJECTION_SESSION = RecordKind(
    name="injection_session",
    row=InjectionSessionRow,
    schema=SessionRecord,
    create=SessionCreate,
    label="injection session",
    correction=SessionCreate,
    read=SessionRead,
    id_param="session_id",
    collection="sessions",
    write_roles=WRITE_SESSIONS,
    references=(("patient_id", "patient"), ("episode_id", "episode"), ("injector_id", "clinician")),
    timeline="sessions",
    dated_by="date",
    describe=_session,
    update="bontrack.injections.service:update_session",
    withdraw="bontrack.injections.service:withdraw_session",  # its vial openings too
    authored=True,
    notes=" The corrected plan is judged again by the decision engine (against the "
    "patient's other sessions); a blocked plan needs ``override`` acknowledging each block of the "
    "corrected plan (``acknowledged``) with the written reason, as when it was created (else 409 "
    "naming ``override``, the block not acknowledged or the reason too short).",
)
ADVERSE_EVENT = RecordKind(
    name="adverse_event",
    row=AdverseEventRow,
    schema=AdverseEventCreate,
    label="adverse event",
    correction=AdverseEventCreate,
    read=AdverseEventRead,
    id_param="event_id",
    collection="adverse-events",
    write_roles=WRITE_ADVERSE_EVENTS,
    references=(("patient_id", "patient"), ("session_id", "injection_session")),
    timeline="adverse_events",
    dated_by="onset_date",
    describe=_adverse_event,
    update="bontrack.injections.service:update_adverse_event",
)


def refresh_session_fields(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the report's session fields (session_fields) of the patients whose sessions
    were written."""
    from bontrack.injections.fields_kept import refresh_patients

    refresh_patients(db, touched)


# the report's typed session fields are kept as sessions are written (bontrack.injections.fields_kept)
derived.register(
    {InjectionSessionRow.__tablename__: "patient_id"},
    refresh_session_fields,
    table=SessionFieldRow.__tablename__,
)
