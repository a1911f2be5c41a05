"""Who may correct or withdraw a record: the roles that may record it, by its kind's one rule.

A record kind names the roles that write it (``RecordKind.write_roles``), and a kind whose rule
depends on the record itself says so (``RecordKind.writers``: a worklist action that is a
stop-and-review decision is a physician's, bontrack.scheduling.deciders). Correcting or
withdrawing a record is writing it again, so the same rule governs both, held here for the
services (``bontrack.corrections``, ``bontrack.repository``): every face (pages, the API, an
import) refuses a role alike, with 403 audited as a denied attempt. A face may check the kind's
roles first to show a page that says who can (and the chart offers no link it would refuse).

A writer that is not a person (the command line, an import run by the operator, the demo data: a
name with no role) writes what it is given, as it creates records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from bontrack.actor import Actor
from bontrack.errors import NotAllowedError
from bontrack.record_kind import AnyKind
from bontrack.storage.audit_log import Attempt, mark_denied

ROLE_NAMES = {
    "physician": "a physician",
    "physical_therapist": "a physical therapist",
    "staff": "a member of staff",
    "researcher": "a researcher",
    "admin": "an administrator",
}
VERBS = {"create": "record", "update": "correct", "withdraw": "withdraw"}


def role_of(actor: str) -> str | None:
    """The actor's role (None: a writer that is not a person)."""
    return actor.role if isinstance(actor, Actor) else None


def roles_for(kind: AnyKind, data: Mapping[str, Any] | BaseModel | None = None) -> tuple[str, ...]:
    """The roles that may write this record of ``kind`` (no record given: the kind's roles)."""
    return kind.roles_for(data)


def who(roles: tuple[str, ...]) -> str:
    """The roles in words: "a physician", "a physician or a physical therapist"."""
    names = [ROLE_NAMES.get(r, r.replace("_", " ")) for r in roles]
    if not names:
        return "no signed-in user"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def check_writer(
    actor: str,
    kind: AnyKind,
    data: Mapping[str, Any] | BaseModel | None,
    *,
    action: Literal["create", "update", "withdraw"],
    record_id: str | None = None,
    clinic_id: str | None = None,
) -> None:
    """Refuse ``action`` on a record of ``kind`` by a role that may not write it (NotAllowedError,
    marked as a denied attempt for the face to audit); a role-less writer passes."""
    role = role_of(actor)
    roles = roles_for(kind, data)
    if role is None or role in roles:
        return
    words = role.replace("_", " ")
    error = NotAllowedError.one(
        "role",
        f"only {who(roles)} can {VERBS[action]} {kind.words}; your account's role is {words}",
    )
    attempt = Attempt(
        str(actor),
        action=action,
        record_type=kind.name,
        record_id=record_id,
        clinic_id=clinic_id,
        detail=f"{VERBS[action]} {kind.label} refused: role {words}",
    )
    raise mark_denied(error, attempt)
