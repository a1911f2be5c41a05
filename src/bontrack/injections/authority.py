"""Who may inject and who may override a block: the injector's role, the Author of a save, the
override check and its audit entry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bontrack.clinical.findings import Decision, Finding
from bontrack.errors import FieldError, InputError, RefusedError
from bontrack.injections.models import InjectionSessionRow
from bontrack.injections.schemas import Override, SessionCreate
from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import ClinicianRead
from bontrack.patients.service import get_clinician
from bontrack.roles import role_words
from bontrack.storage.audit_log import log

# A clinician record's role in the words of the check input's plan.injector_role.
_CHECK_ROLE = {"physiotherapist": "physical_therapist"}


def check_role(clinician_role: str) -> str:
    return _CHECK_ROLE.get(clinician_role, clinician_role)


@dataclass(frozen=True)
class Author:
    """The logged-in user who saves a session, through the web page or the API.

    ``clinician_id``: the user's own clinician record (None: the account is not linked to one).
    A block is overridden only by its author, as themself. Writers that are not a person (the
    synthetic clinic, an import) pass no Author: their records carry the override as written.
    """

    clinician_id: str | None


def clinician_in_role(
    *, db: Session, actor: str, clinician_id: str, clinic_id: str, field: str, roles: Sequence[str], task: str
) -> ClinicianRead:
    """A clinician of the clinic whose role is one of ``roles`` (a knowledge-base list); else an
    InputError naming ``field``: who the person is recorded as, then ``task`` (what is allowed)."""
    person = get_clinician(db=db, actor=actor, clinician_id=clinician_id, clinic_id=clinic_id, field=field)
    role = check_role(person.data.role)
    if role not in roles:
        raise InputError.one(field, f"{person.data.name} is recorded as {role_words(role)}; {task}")
    return person


def check_injector(*, db: Session, actor: str, data: SessionCreate, clinic_id: str) -> None:
    """The injector of a saved session is a clinician of the clinic whose role may inject."""
    allowed = load_knowledge().files.pathway.injector_roles.roles
    clinician_in_role(
        db=db,
        actor=actor,
        clinician_id=data.injector_id,
        clinic_id=clinic_id,
        field="injector_id",
        roles=allowed,
        task=f"only a {' or a '.join(role_words(r) for r in allowed)} may inject: "
        "choose the injecting physician",
    )


def check_override(
    *,
    db: Session,
    actor: str,
    data: SessionCreate,
    decision: Decision,
    clinic_id: str,
    author: Author | None,
) -> SessionCreate:
    """A blocked plan needs an override given by the author as themself, that acknowledges every
    block of the decision, each on its own, with a written reason that says something
    (``reason_problem``; RefusedError naming the reason and each block not acknowledged). Returns the
    session with the override's clinician filled in from the author when it was left out, and
    its ``acknowledged`` as the blocks acknowledged, in the decision's order."""
    blocks = [f for f in decision.findings if f.severity == "block"]
    if decision.decision != "block":
        if data.override is None or not data.override.acknowledged:
            return data
        # nothing blocks: no block was acknowledged (the codes sent do not stand in the record)
        return data.model_copy(update={"override": data.override.model_copy(update={"acknowledged": []})})
    if data.override is None:
        raise RefusedError.one(
            "override",
            f"the plan is blocked ({', '.join(f.code for f in blocks)}); to save it anyway give "
            "override.acknowledged (the code of each block) and override.reason (written text): the "
            "override is yours, as the physician saving the session",
        )
    clinician_id = data.override.clinician_id
    if author is not None:
        if author.clinician_id is None:
            raise InputError.one(
                "override.clinician_id",
                "your account is not linked to your clinician record, so you cannot override a block; "
                "an administrator links it (bontrack user link)",
            )
        if clinician_id is not None and clinician_id != author.clinician_id:
            raise InputError.one(
                "override.clinician_id",
                "must be your own clinician record: a block is overridden only by the physician "
                "who saves the session, as themself",
            )
        clinician_id = author.clinician_id
    if clinician_id is None:
        raise InputError.one("override.clinician_id", "is required: the physician who overrides the block")
    clinician_in_role(
        db=db,
        actor=actor,
        clinician_id=clinician_id,
        clinic_id=clinic_id,
        field="override.clinician_id",
        roles=load_knowledge().files.pathway.injector_roles.roles,
        task="only a physician overrides a block",
    )
    problems = _override_problems(data.override, blocks)
    if problems:
        raise RefusedError(problems)
    given = set(data.override.acknowledged)
    acknowledged = [f.code for f in blocks if f.code in given]
    return data.model_copy(
        update={
            "override": data.override.model_copy(
                update={"clinician_id": clinician_id, "acknowledged": acknowledged}
            )
        }
    )


# A word of a written reason: a run of letters (any alphabet), read in lower case.
_LETTERS = re.compile(r"[^\W\d_]+")


def reason_words(reason: str) -> list[str]:
    """The different words of a written reason, lower case, in the order first written: a word is
    a run of letters with at least two different letters ("x", "aaaa" and the "s" of "patient's"
    are not words; "MG" and "ok" are); numbers, punctuation and spaces are not words.

    >>> reason_words("Override override OVERRIDE: 2 x ok.")
    ['override', 'ok']
    """
    words = (w.lower() for w in _LETTERS.findall(reason))
    return list(dict.fromkeys(w for w in words if len(set(w)) > 1))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def reason_written(reason: str) -> str:
    """What a written reason holds, as the rule counts it: "1 different word, 8 letters"."""
    words = reason_words(reason)
    return f"{_count(len(words), 'different word')}, {_count(sum(len(w) for w in words), 'letter')}"


def reason_problem(reason: str) -> str | None:
    """What a written override reason lacks, in the clinician's words, or None when it says
    something: at least the pathway's ``override_reason_min_words`` different words with at least
    ``override_reason_min_chars`` letters between them (a word written again counts once, so no
    character or word repeated fills the length). A stored reason is never judged again."""
    pathway = load_knowledge().files.pathway
    least_words = int(pathway.override_reason_min_words.value)
    least_letters = int(pathway.override_reason_min_chars.value)
    words = reason_words(reason)
    if len(words) >= least_words and sum(len(w) for w in words) >= least_letters:
        return None
    return (
        "Write why going ahead outweighs the blocks in a few words of your own: at least "
        f"{least_words} different words with {least_letters} letters between them (a word written "
        f"again counts once; numbers, punctuation and one letter repeated do not count); written: "
        f"{reason_written(reason)}"
    )


def _override_problems(override: Override, blocks: list[Finding]) -> list[FieldError]:
    """A reason that says too little (``reason_problem``), and each block the override does not
    acknowledge (one error per block, in the decision's order: the block first)."""
    problems = []
    if (lacks := reason_problem(override.reason)) is not None:
        problems.append(FieldError("override.reason", lacks))
    given = set(override.acknowledged)
    problems.extend(
        FieldError(
            "override.acknowledged",
            f"must list the code of every block: {f.code} is not acknowledged ({f.message.rstrip('.')})",
        )
        for f in blocks
        if f.code not in given
    )
    return problems


def audit_override(
    db: Session, *, actor: str, row: InjectionSessionRow, data: SessionCreate, decision: Decision
) -> None:
    if decision.decision == "block" and data.override is not None:
        log(
            db,
            actor=actor,
            action="override",
            record_type=row.record_type,
            record_id=row.id,
            version=row.version,
            clinic_id=row.clinic_id,
            after={
                "clinician_id": data.override.clinician_id,
                "reason": data.override.reason,
                "blocked_by": [f.code for f in decision.findings if f.severity == "block"],
                "acknowledged": list(data.override.acknowledged),
                "knowledge_version": decision.knowledge_version,
            },
            detail=data.override.reason,
        )
