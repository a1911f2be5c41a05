"""The patients domain's record kinds: clinics, clinicians, patients and their pain episodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bontrack.patients.models import ClinicianRow, ClinicRow, EpisodeRow, PatientRow
from bontrack.patients.schemas import (
    ClinicCreate,
    ClinicianCreate,
    EpisodeCreate,
    EpisodeRead,
    PatientCreate,
    PatientRead,
)
from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_EPISODES, WRITE_PATIENTS


def _patient(data: Mapping[str, Any]) -> str:
    return f"{data.get('name')} ({data.get('record_number')})"


CLINIC = RecordKind(name="clinic", row=ClinicRow, schema=ClinicCreate, label="clinic", patient_field=None)
CLINICIAN = RecordKind(
    name="clinician", row=ClinicianRow, schema=ClinicianCreate, label="clinician", patient_field=None
)
PATIENT = RecordKind(
    name="patient",
    row=PatientRow,
    schema=PatientCreate,
    label="patient",
    correction=PatientCreate,
    read=PatientRead,
    id_param="patient_id",
    collection="patients",
    write_roles=WRITE_PATIENTS,
    patient_field=None,
    describe=_patient,
    update="bontrack.patients.service:update_patient",
)
EPISODE = RecordKind(
    name="episode",
    row=EpisodeRow,
    schema=EpisodeCreate,
    label="episode",
    correction=EpisodeCreate,
    read=EpisodeRead,
    id_param="episode_id",
    collection="episodes",
    write_roles=WRITE_EPISODES,
    references=(("patient_id", "patient"),),
    dated_by="pain_onset_date",
    update="bontrack.patients.service:update_episode",
)
