"""Who records a stop-and-review decision (a worklist flag marked "review done" with continue,
change product or dose, or stop): the rule the worklist's service holds, so the page and any other
face refuse alike, and the pages show the decision's form only to those it lets through.

After cycles without response, going on injecting is a clinical decision about the injections
themselves, so it is made by those who may inject; a clinic's staff and physical therapists see
the flag (they may tell the physician), not the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bontrack.actor import Actor
from bontrack.errors import NotAllowedError
from bontrack.knowledge import load_knowledge
from bontrack.roles import READ_CLINICAL
from bontrack.scheduling.schemas import WorklistActionCreate, item_key
from bontrack.storage.audit_log import Attempt, mark_denied

REVIEW_KEY = item_key("stop_review", "", None)  # every stop-and-review flag's key starts so
_VERBS = {"create": "record", "update": "correct", "withdraw": "withdraw"}


def review_deciders() -> tuple[str, ...]:
    """The roles that record a stop-and-review decision: those who may inject (knowledge:
    pathway.injector_roles, a physician), as for overriding a block (bontrack.injections.authority).
    After cycles without response, whether to go on injecting is the injecting physician's call."""
    return tuple(load_knowledge().files.pathway.injector_roles.roles)


def is_decision(data: Mapping[str, Any]) -> bool:
    """Whether an action (as stored) is about a stop-and-review flag: its kind says so, its action
    is "review done", or it names a flag's item (whatever kind it claims: an action on the flag's
    key is the flag's latest action, and would reopen or close it)."""
    key = str(data.get("item_key") or "")
    return data.get("kind") == "stop_review" or data.get("action") == "reviewed" or key.startswith(REVIEW_KEY)


def action_writers(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The roles that may record, correct or withdraw one worklist action (the kind's rule,
    ``WORKLIST_ACTION.writers``): a stop-and-review decision, those who decide it; any other
    action, whoever works the worklist."""
    return review_deciders() if is_decision(data) else READ_CLINICAL


def may_decide_review(actor: str) -> bool:
    """Whether ``actor`` may record a stop-and-review decision: a signed-in user by their role; a
    writer that is not a person (the command line, an import, the demo data: a name with no role)
    records what it is given, as it does a block's override."""
    role = actor.role if isinstance(actor, Actor) else None
    return role is None or role in review_deciders()


def check_decider(
    actor: str, data: WorklistActionCreate | Mapping[str, Any], *, action: str = "create"
) -> None:
    """Refuse a stop-and-review decision (anything done about a flag, ``is_decision``) from a
    role that may not make it, before anything is written: 403 on every face, audited as denied.
    ``action``: the audit log's name of what was tried (create, update, withdraw)."""
    stored = data.model_dump(mode="json") if isinstance(data, WorklistActionCreate) else data
    if not is_decision(stored) or may_decide_review(actor):
        return
    allowed = " or ".join(r.replace("_", " ") for r in review_deciders())
    role = str(getattr(actor, "role", "")).replace("_", " ")
    verb = _VERBS.get(action, "record")
    error = NotAllowedError.one(
        "decision",
        f"only a {allowed} can {verb} the stop-and-review decision (whether to go on injecting "
        f"after cycles without response); your account's role is {role}",
    )
    attempt = Attempt(
        str(actor),
        action=action,
        record_type="worklist_action",
        detail=f"stop-and-review decision refused: role {role}",
    )
    raise mark_denied(error, attempt)
