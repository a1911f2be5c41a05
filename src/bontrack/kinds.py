"""Every record type the registry stores, in the order a parent comes before its children.

Export writes types in this order; import checks and loads them in it; Alembic sees every table.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from bontrack.assessments.models import AssessmentRow
from bontrack.assessments.schemas import AssessmentCreate
from bontrack.audit.models import AuditEntry
from bontrack.auth.models import AUTH_TABLES
from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.injections.schemas import AdverseEventCreate, SessionRecord
from bontrack.outcomes.models import OutcomeRow
from bontrack.outcomes.schemas import OutcomeRecord
from bontrack.patients.models import ClinicianRow, ClinicRow, EpisodeRow, PatientRow
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate, EpisodeCreate, PatientCreate
from bontrack.records import VersionedRow
from bontrack.screening.models import ScreeningRow
from bontrack.screening.schemas import ScreeningCreate
from bontrack.stock.models import StockReceiptRow, VialDiscardRow, VialOpeningRow
from bontrack.stock.schemas import StockReceiptCreate, VialDiscardCreate, VialOpeningCreate
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyVisitCreate


@dataclass(frozen=True)
class Kind:
    name: str
    row: type[VersionedRow]
    schema: type[BaseModel]
    # data field -> record type it must name (checked on import)
    references: tuple[tuple[str, str], ...] = ()


KINDS: tuple[Kind, ...] = (
    Kind("clinic", ClinicRow, ClinicCreate),
    Kind("clinician", ClinicianRow, ClinicianCreate),
    Kind("patient", PatientRow, PatientCreate),
    Kind("episode", EpisodeRow, EpisodeCreate, (("patient_id", "patient"),)),
    Kind("screening", ScreeningRow, ScreeningCreate, (("patient_id", "patient"),)),
    Kind(
        "assessment",
        AssessmentRow,
        AssessmentCreate,
        (("patient_id", "patient"), ("episode_id", "episode"), ("assessor_id", "clinician")),
    ),
    Kind(
        "therapy_plan",
        TherapyPlanRow,
        TherapyPlanCreate,
        (("patient_id", "patient"), ("episode_id", "episode"), ("therapist_id", "clinician")),
    ),
    Kind(
        "injection_session",
        InjectionSessionRow,
        SessionRecord,
        (("patient_id", "patient"), ("episode_id", "episode"), ("injector_id", "clinician")),
    ),
    Kind(
        "adverse_event",
        AdverseEventRow,
        AdverseEventCreate,
        (("patient_id", "patient"), ("session_id", "injection_session")),
    ),
    Kind(
        "therapy_visit",
        TherapyVisitRow,
        TherapyVisitCreate,
        (("patient_id", "patient"), ("plan_id", "therapy_plan"), ("therapist_id", "clinician")),
    ),
    Kind(
        "outcome",
        OutcomeRow,
        OutcomeRecord,
        (("patient_id", "patient"), ("episode_id", "episode"), ("session_id", "injection_session")),
    ),
    Kind("stock_receipt", StockReceiptRow, StockReceiptCreate),
    Kind(
        "vial_opening",
        VialOpeningRow,
        VialOpeningCreate,
        (("session_id", "injection_session"), ("patient_id", "patient")),
    ),
    Kind("vial_discard", VialDiscardRow, VialDiscardCreate),
)
BY_NAME = {k.name: k for k in KINDS}
TABLES = (AuditEntry, *(k.row for k in KINDS), *AUTH_TABLES)
assert all(k.row.record_type == k.name for k in KINDS)
