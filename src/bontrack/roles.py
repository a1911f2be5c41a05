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

# A role as people read it after "a"/"an" (never its id: "physical_therapist").
ROLE_WORDS: dict[str, str] = {
    "physician": "physician",
    "physical_therapist": "physical therapist",
    "staff": "staff member",
    "researcher": "researcher",
    "admin": "administrator",
}


def role_words(role: str) -> str:
    """The role in words (an unknown one as stored, underscores as spaces)."""
    return ROLE_WORDS.get(role, role.replace("_", " "))


def a_role(role: str) -> str:
    """The role in words with its article: "an administrator", "a physical therapist"."""
    who = role_words(role)
    return f"{'an' if who[:1].lower() in 'aeiou' else 'a'} {who}"


def not_allowed(role: str, allowed: tuple[str, ...]) -> str:
    """Why a user of ``role`` is refused: "an administrator cannot do this; allowed: physician"."""
    return f"{a_role(role)} cannot do this; allowed: {', '.join(role_words(r) for r in allowed)}"
