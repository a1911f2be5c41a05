"""The scheduling domain's record kind: what was done about a worklist item (issue 14)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.record_kind import RecordKind
from bontrack.roles import READ_CLINICAL
from bontrack.scheduling.deciders import action_writers
from bontrack.scheduling.models import DueItemRow, WorklistActionRow
from bontrack.scheduling.schemas import WorklistActionCreate, WorklistActionRead
from bontrack.storage import derived
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow

WORKLIST_ACTION = RecordKind(
    name="worklist_action",
    row=WorklistActionRow,
    schema=WorklistActionCreate,
    label="worklist action",
    read=WorklistActionRead,
    write_roles=READ_CLINICAL,  # whoever works the worklist (its page's roles)
    writers=action_writers,  # but a stop-and-review decision: a physician's (deciders)
    references=(("patient_id", "patient"),),
)

# The due items are kept as records are written: the tables they derive from (table -> the column
# naming the patient), registered with storage when the kinds are. The rules (pandas, the review
# analytics) are imported on the first write that needs them, not by every command that reads.
WATCHED: dict[str, str] = {
    PatientRow.__tablename__: "id",
    InjectionSessionRow.__tablename__: "patient_id",
    AdverseEventRow.__tablename__: "patient_id",  # (an open or serious event: a follow-up item)
    OutcomeRow.__tablename__: "patient_id",
    TherapyPlanRow.__tablename__: "patient_id",
    TherapyVisitRow.__tablename__: "patient_id",
    WorklistActionRow.__tablename__: "patient_id",
}


def refresh_due_items(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the due items of the patients whose records this unit of work wrote."""
    from bontrack.scheduling.due import refresh_patients

    refresh_patients(db, touched)


derived.register(WATCHED, refresh_due_items, table=DueItemRow.__tablename__)
