"""The records a record links to, in words, for its history page: a patient by name and record
number, a session by its date and product, a clinician by name, a therapy plan by its start date,
an episode by its onset; each linked to its page where there is one. Nobody reads an id.

The look-ups are batched (one read per kind of linked record for the whole page, and one more
for the withdrawn ones when some are not current) and go through the repository of each kind, so
they are limited to the user's clinic and audited as any read. A link that cannot be read
(withdrawn clinician, another clinic's record in an imported registry, missing) is still worded:
"a session not found (id 3eb3a01f…)", never a failed page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bontrack.kinds import BY_NAME
from bontrack.knowledge import load_knowledge
from bontrack.patients.schemas import PatientRead
from bontrack.record_kind import AnyKind
from bontrack.records import Stored
from bontrack.repository import Repository
from bontrack.web.deps import Principal
from bontrack.web.earlier_events import session_words

# links the kinds' ``references`` do not list: the overriding physician of a session
NESTED = {"override.clinician_id": "clinician"}


@dataclass(frozen=True)
class Linked:
    """A linked record in words, with the address of its page (None: no page to open)."""

    words: str
    href: str | None = None


def link_fields(kind: AnyKind) -> dict[str, str]:
    """The field paths of a kind's records that name another record, with that record's kind."""
    fields: Iterable[str] = kind.schema.model_fields
    return dict(kind.references) | {p: k for p, k in NESTED.items() if p.split(".")[0] in fields}


def short_id(record_id: str) -> str:
    """An id as a person can quote it: its first 8 characters (a stored id may be any text)."""
    return record_id if len(record_id) <= 9 else f"{record_id[:8]}…"


def _words(target: str, record: Stored[Any], patient: PatientRead) -> Linked:
    """A readable linked record in words, linked to its page (a withdrawn one: its history)."""
    data = record.data
    at = f"/patients/{patient.id}"
    history = f"{at}/records/{target}/{record.id}/history"
    gone = " (withdrawn)" if record.withdrawn else ""
    if target == "patient":
        page = history if record.withdrawn else at
        return Linked(f"{data.name} ({data.record_number}){gone}", page)
    if target == "injection_session":
        page = history if record.withdrawn else f"{at}?session={record.id}#bodymap"
        return Linked(session_words(record, load_knowledge()) + gone, page)
    if target == "episode":
        return Linked(f"the episode from {data.pain_onset_date}{gone}", history)
    if target == "therapy_plan":
        return Linked(f"the plan from {data.start_date}, {data.weeks} weeks{gone}", history)
    return Linked(f"{data.name}{gone}")  # a clinician: no page of their own


def not_found(target: str, record_id: str) -> Linked:
    noun = BY_NAME[target].label if target in BY_NAME else target.replace("_", " ")  # (the kind's own words)
    article = "an" if noun[:1] in "aeiou" else "a"
    return Linked(f"{article} {noun} not found (id {short_id(record_id)})")


def linked_words(
    db: Session,
    principal: Principal,
    patient: PatientRead,
    fields: dict[str, str],
    docs: list[dict[str, Any]],
) -> Callable[[str, str], str | Linked]:
    """``shown`` for a history page: a link field's value (an id) as its record in words, any other
    value as given. ``fields``: the link fields (``link_fields``); ``docs``: every version's data."""
    wanted: dict[str, set[str]] = {}
    for doc in docs:
        for path, target in fields.items():
            value = _at(doc, path)
            if isinstance(value, str) and value:
                wanted.setdefault(target, set()).add(value)
    found: dict[tuple[str, str], Linked] = {}
    for target, ids in wanted.items():
        for record in _read(db, principal, patient, target, sorted(ids)):
            found[(target, record.id)] = _words(target, record, patient)

    def shown(path: str, value: str) -> str | Linked:
        target = fields.get(path)
        if target is None or value in ("(not given)", ""):
            return value
        return found.get((target, value)) or not_found(target, value)

    return shown


def _read(
    db: Session, principal: Principal, patient: PatientRead, target: str, ids: list[str]
) -> list[Stored[Any]]:
    """The records of one kind by id: the page's patient as read already, the others in one read
    (scoped to the user's clinic, audited), and one more for the patient's withdrawn ones when
    some are not current."""
    if target == "patient":
        return [patient] if patient.id in ids else []
    kind = BY_NAME.get(target)
    if kind is None:
        return []
    repository = Repository.of(kind)
    current = repository.many(db, principal.actor, ids)
    records = list(current.values())
    if kind.patient_field is not None and len(current) < len(ids):
        wanted = set(ids) - set(current)  # only these read (and audited)
        records += repository.withdrawn_of_patient(db, principal.actor, patient.id, ids=wanted)
    return records


def _at(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
