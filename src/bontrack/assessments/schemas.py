"""Assessment schemas."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bontrack.records import Stored
from bontrack.schemas import EventDate, Flag, FreeText, Id, Input, NoControls

PressureUnit = Literal["kPa", "kg/cm2", "N/cm2", "lbf"]


class TriggerPointFinding(Input):
    """One trigger point with the examination criteria found (Simons, Delphi 2018)."""

    muscle: FreeText
    side: FreeText
    taut_band: Flag
    spot_tenderness: Flag
    referred_pain: Flag
    pain_recognition: Flag
    local_twitch: Flag


class PressurePainThreshold(Input):
    muscle: FreeText
    side: FreeText
    value: Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]
    unit: PressureUnit
    device: Annotated[
        str, Field(min_length=1, max_length=200, description="algometer make and model"), NoControls
    ]


class AssessmentCreate(Input):
    patient_id: Id
    episode_id: Id
    date: EventDate
    assessor_id: Id
    trigger_points: list[TriggerPointFinding] = Field(default_factory=list)
    pressure_pain_thresholds: list[PressurePainThreshold] = Field(default_factory=list)
    guidance_notes: Annotated[
        str, Field(max_length=5000, description="guidance or imaging notes"), NoControls
    ] = ""


AssessmentRead = Stored[AssessmentCreate]
