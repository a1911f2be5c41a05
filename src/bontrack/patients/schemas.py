"""Schemas of the patients domain: XCreate is what a caller gives, XRead what is stored."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bontrack.records import Stored
from bontrack.schemas import BirthDate, EventDate, Id, Input, NoControls, Text, Weeks

Sex = Literal["female", "male", "other", "unknown"]
Role = Literal["physician", "physiotherapist", "nurse", "other"]
# ICD-10-CM: a letter, two characters, optionally a dot and up to four more (M54.2, M79.12).
ICD10CM = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$"


class ClinicCreate(Input):
    name: Text


class ClinicianCreate(Input):
    name: Text
    role: Role
    registration: Annotated[
        str, Field(max_length=100, description="professional registration number"), NoControls
    ] = ""


class PatientCreate(Input):
    record_number: Annotated[
        str, Field(min_length=1, max_length=64, description="pseudonymous record number"), NoControls
    ]
    name: Text
    birth_date: BirthDate
    sex: Sex
    # how the clinic reaches the patient about a due visit or a recalled lot (optional)
    phone: Annotated[
        str, Field(max_length=40, pattern=r"^[0-9+()./ -]*$", description="digits, spaces, + ( ) - . /")
    ] = ""
    email: Annotated[str, Field(max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"), NoControls] = ""


class DiagnosisCode(Input):
    system: Literal["ICD-10-CM"] = "ICD-10-CM"
    code: Annotated[
        str, Field(description="e.g. M54.2 (cervicalgia), M79.12 (myalgia of auxiliary muscles, neck)")
    ]
    label: Annotated[str, Field(max_length=200), NoControls] = ""

    @field_validator("code", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("code")
    @classmethod
    def _icd10cm(cls, value: str) -> str:
        if not re.fullmatch(ICD10CM, value):
            raise ValueError(
                f"{value!r} is not an ICD-10-CM code; allowed: a letter, 2 characters, optional .1-4 (M54.2)"
            )
        return value


class EpisodeCreate(Input):
    patient_id: Id
    diagnosis_codes: list[DiagnosisCode] = Field(min_length=1)
    pain_onset_date: EventDate
    conservative_care: list[Text] = Field(
        default_factory=list, description="treatments tried before toxin (exercise, NSAIDs, ...)"
    )
    conservative_care_weeks: Weeks = Field(description="how long conservative care was tried, in weeks")

    @model_validator(mode="after")
    def _distinct_codes(self) -> EpisodeCreate:
        codes = [d.code for d in self.diagnosis_codes]
        if len(set(codes)) != len(codes):
            raise ValueError("diagnosis_codes lists a code twice")
        return self


ClinicRead = Stored[ClinicCreate]
ClinicianRead = Stored[ClinicianCreate]
PatientRead = Stored[PatientCreate]
EpisodeRead = Stored[EpisodeCreate]
