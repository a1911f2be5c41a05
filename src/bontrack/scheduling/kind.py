"""The scheduling domain's record kind: what was done about a worklist item (issue 14)."""

from __future__ import annotations

from bontrack.record_kind import RecordKind
from bontrack.roles import READ_CLINICAL
from bontrack.scheduling.models import WorklistActionRow
from bontrack.scheduling.schemas import WorklistActionCreate, WorklistActionRead

WORKLIST_ACTION = RecordKind(
    name="worklist_action",
    row=WorklistActionRow,
    schema=WorklistActionCreate,
    label="worklist action",
    read=WorklistActionRead,
    write_roles=READ_CLINICAL,  # whoever works the worklist (its page's roles)
    references=(("patient_id", "patient"),),
)

# the due items are kept as records are written: importing the module registers its refresher
import bontrack.scheduling.due  # noqa: E402, F401
