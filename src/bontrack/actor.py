"""Who acts: the name the audit log records, with the role and the clinic the services scope to.

An ``Actor`` is the acting name itself (a ``str``), so every service that takes ``actor: str``
takes one unchanged; the services (through ``bontrack.records``) return only the records of
``actor.clinic_id`` and answer a record of another clinic exactly as a missing one. A plain string
acts for every clinic: the command line, imports and the demo data run as the operator.
"""

from __future__ import annotations


class Actor(str):
    """The acting user's name (as a string), role and clinic (None: every clinic)."""

    clinic_id: str | None
    role: str | None

    def __new__(cls, name: str, *, clinic_id: str | None = None, role: str | None = None) -> Actor:
        actor = super().__new__(cls, name)
        actor.clinic_id = clinic_id
        actor.role = role
        return actor

    def __repr__(self) -> str:
        return f"Actor({str(self)!r}, clinic_id={self.clinic_id!r}, role={self.role!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (_actor, (str(self), self.clinic_id, self.role))


def _actor(name: str, clinic_id: str | None, role: str | None) -> Actor:
    return Actor(name, clinic_id=clinic_id, role=role)


def clinic_of(actor: str) -> str | None:
    """The clinic ``actor`` is limited to, or None when it may see every clinic."""
    return actor.clinic_id if isinstance(actor, Actor) else None


def sees(actor: str, clinic_id: str) -> bool:
    """Whether ``actor`` may see a record of ``clinic_id``."""
    scope = clinic_of(actor)
    return scope is None or scope == clinic_id


# how an actor is written in the audit log and on each version, by who acted
USER = "user:"  # a logged-in user: user:<e-mail>
COMMAND_LINE = "cli:"  # a command: cli:<the operating system's login>
PATIENT_LINK = "patient-link:"  # a patient through a one-time link: patient-link:<the link's id>


def who(actor: str) -> str:
    """Who acted, in words for a page: a user's e-mail; "the command line (login root)"; "the
    patient, through a link"; any other name (an import's --actor) as it was given."""
    if actor.startswith(USER):
        return actor.removeprefix(USER)
    if actor.startswith(COMMAND_LINE):
        login = actor.removeprefix(COMMAND_LINE)
        return "the command line" + (f" (login {login})" if login and login != "unknown" else "")
    if actor.startswith(PATIENT_LINK):
        return "the patient, through a link"
    return actor


NO_CLINIC = ""  # no record has an empty clinic id: a list limited to it is empty


def list_scope(actor: str, asked: str | None) -> str | None:
    """The clinic a list is limited to: the one asked for (None: every clinic) when ``actor`` sees
    every clinic; else the actor's own, and ``NO_CLINIC`` (nothing) when another one is asked for."""
    scope = clinic_of(actor)
    if scope is None:
        return asked
    return scope if asked in (None, scope) else NO_CLINIC
