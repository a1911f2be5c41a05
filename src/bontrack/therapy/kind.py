"""The therapy domain's record kinds: physical-therapy plans and their visits."""

from __future__ import annotations

from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_THERAPY
from bontrack.therapy.models import TherapyPlanRow, TherapyVisitRow
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyPlanRead, TherapyVisitCreate, TherapyVisitRead

THERAPY_PLAN = RecordKind(
    name="therapy_plan",
    row=TherapyPlanRow,
    schema=TherapyPlanCreate,
    label="therapy plan",
    correction=TherapyPlanCreate,
    read=TherapyPlanRead,
    id_param="plan_id",
    collection="therapy/plans",
    write_roles=WRITE_THERAPY,
    references=(("patient_id", "patient"), ("episode_id", "episode"), ("therapist_id", "clinician")),
    timeline="plans",
    dated_by="start_date",
    update="bontrack.therapy.service:update_plan",
)
THERAPY_VISIT = RecordKind(
    name="therapy_visit",
    row=TherapyVisitRow,
    schema=TherapyVisitCreate,
    label="therapy visit",
    correction=TherapyVisitCreate,
    read=TherapyVisitRead,
    id_param="visit_id",
    collection="therapy/visits",
    write_roles=WRITE_THERAPY,
    references=(("patient_id", "patient"), ("plan_id", "therapy_plan"), ("therapist_id", "clinician")),
    timeline="visits",
    dated_by="date",
    update="bontrack.therapy.service:update_visit",
)
