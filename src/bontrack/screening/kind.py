"""The screening domain's record kind: a screening interview before treatment."""

from __future__ import annotations

from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_SCREENINGS
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead

SCREENING = RecordKind(
    name="screening",
    row=ScreeningRow,
    schema=ScreeningCreate,
    label="screening",
    correction=ScreeningCreate,
    read=ScreeningRead,
    id_param="screening_id",
    collection="screenings",
    write_roles=WRITE_SCREENINGS,
    references=(("patient_id", "patient"),),
    timeline="screenings",
    dated_by="date",
    update="bontrack.screening.service:update_screening",
)
