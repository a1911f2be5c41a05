"""Who records a stop-and-review decision (a worklist flag marked "review done" with continue,
change product or dose, or stop): the rule the worklist's service holds, so the page and any other
face refuse alike, and the pages show the decision's form only to those it lets through.

After cycles without response, going on injecting is a clinical decision about the injections
themselves, so it is made by those who may inject; a clinic's staff and physical therapists see
the flag (they may tell the physician), not the decision.
"""

from __future__ import annotations

from bontrack.actor import Actor
from bontrack.errors import NotAllowedError
from bontrack.knowledge import load_knowledge
from bontrack.scheduling.schemas import WorklistActionCreate
from bontrack.storage.audit_log import Attempt, mark_denied


def review_deciders() -> tuple[str, ...]:
    """The roles that record a stop-and-review decision: those who may inject (knowledge:
    pathway.injector_roles, a physician), as for overriding a block (bontrack.injections.authority).
    After cycles without response, whether to go on injecting is the injecting physician's call."""
    return tuple(load_knowledge().files.pathway.injector_roles.roles)


def may_decide_review(actor: str) -> bool:
    """Whether ``actor`` may record a stop-and-review decision: a signed-in user by their role; a
    writer that is not a person (the command line, an import, the demo data: a name with no role)
    records what it is given, as it does a block's override."""
    role = actor.role if isinstance(actor, Actor) else None
    return role is None or role in review_deciders()


def check_decider(actor: str, data: WorklistActionCreate) -> None:
    """Refuse a stop-and-review decision (anything done about a flag) from a role that may not
    make it, before anything is read or written: 403 on every face, audited as denied."""
    if (data.kind != "stop_review" and data.action != "reviewed") or may_decide_review(actor):
        return
    allowed = " or ".join(r.replace("_", " ") for r in review_deciders())
    role = str(getattr(actor, "role", "")).replace("_", " ")
    error = NotAllowedError.one(
        "decision",
        f"only a {allowed} can record the stop-and-review decision (whether to go on injecting "
        f"after cycles without response); your account's role is {role}",
    )
    attempt = Attempt(
        str(actor),
        action="create",
        record_type="worklist_action",
        detail=f"stop-and-review decision refused: role {role}",
    )
    raise mark_denied(error, attempt)
