"""A saved injection session's billing lines: what was administered, coded as `bontrack code`
codes a check document (planning.billing: the drug's HCPCS code with JW for the discarded units
or JZ when none were, the procedure codes, the NDC), from the stored session in its stored
context, with the episode's diagnosis codes and the session's guidance."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.injections.authority import check_role
from bontrack.injections.service import _check_document, get_session
from bontrack.patients.service import episode_of, get_clinician, get_patient
from bontrack.planning.billing import BillingLines, code_session
from bontrack.planning.knowledge import load_planning

# the session's guidance as the billing rules name it (palpation has no add-on code)
_GUIDANCE = {"emg": "emg", "ultrasound": "ultrasound"}


def session_billing(*, db: Session, actor: str, session_id: str) -> BillingLines:
    """The billing lines of a saved session (reads audited); InputError naming the field when the
    stored session cannot be coded (e.g. more units given than its vials hold)."""
    session = get_session(db=db, actor=actor, session_id=session_id)
    data = session.data
    patient = get_patient(db=db, actor=actor, patient_id=data.patient_id)
    episode = episode_of(db=db, actor=actor, episode_id=data.episode_id, patient_id=data.patient_id)
    injector = get_clinician(
        db=db, actor=actor, clinician_id=data.injector_id, clinic_id=patient.clinic_id, field="injector_id"
    )
    document = _check_document(
        db=db,
        actor=actor,
        data=data,
        patient=patient,
        episode=episode,
        exclude=session.id,
        injector_role=check_role(injector.data.role),
    )
    document["guidance"] = [_GUIDANCE[data.guidance]] if data.guidance in _GUIDANCE else []
    document["diagnosis_codes"] = [d.code for d in episode.data.diagnosis_codes]
    return code_session(document, load_planning())
