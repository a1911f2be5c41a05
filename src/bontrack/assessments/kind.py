"""The assessments domain's record kind: an examination of the neck and shoulder muscles."""

from __future__ import annotations

from bontrack.assessments.models import AssessmentRow
from bontrack.assessments.schemas import AssessmentCreate, AssessmentRead
from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_ASSESSMENTS

ASSESSMENT = RecordKind(
    name="assessment",
    row=AssessmentRow,
    schema=AssessmentCreate,
    label="assessment",
    correction=AssessmentCreate,
    read=AssessmentRead,
    id_param="assessment_id",
    collection="assessments",
    write_roles=WRITE_ASSESSMENTS,
    references=(("patient_id", "patient"), ("episode_id", "episode"), ("assessor_id", "clinician")),
    timeline="assessments",
    dated_by="date",
    update="bontrack.assessments.service:update_assessment",
)
