"""Who may do what: the roles that may read clinical records and write each kind of record.

The record kinds (``bontrack.kinds``) name these, and the faces check them (``web.deps`` re-exports
them). Reading identified patient data: everyone but researchers.
"""

from __future__ import annotations

from bontrack.auth.schemas import Role

READ_CLINICAL: tuple[Role, ...] = ("physician", "physical_therapist", "staff", "admin")
WRITE_PATIENTS: tuple[Role, ...] = ("physician", "physical_therapist", "staff")
WRITE_EPISODES: tuple[Role, ...] = ("physician", "physical_therapist")
WRITE_SCREENINGS: tuple[Role, ...] = ("physician", "staff")
WRITE_ASSESSMENTS: tuple[Role, ...] = ("physician", "physical_therapist")
WRITE_SESSIONS: tuple[Role, ...] = ("physician",)
WRITE_ADVERSE_EVENTS: tuple[Role, ...] = ("physician", "physical_therapist", "staff")
WRITE_THERAPY: tuple[Role, ...] = ("physician", "physical_therapist")
WRITE_OUTCOMES: tuple[Role, ...] = ("physician", "physical_therapist", "staff")
ISSUE_LINKS: tuple[Role, ...] = ("physician", "physical_therapist", "staff")
READ_DEIDENTIFIED: tuple[Role, ...] = ("researcher", "admin")
ADMIN: tuple[Role, ...] = ("admin",)
