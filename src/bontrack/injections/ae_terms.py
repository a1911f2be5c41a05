"""An adverse event's coded fields, their words, and whether an event is still open.

- ``status``: how the event stands now, the FHIR R4 AdverseEvent.outcome codes
  (http://terminology.hl7.org/CodeSystem/adverse-event-outcome);
- ``relatedness``: how likely the injection caused it, the WHO-UMC causality categories (sent
  over FHIR as AdverseEvent.suspectEntity.causality.assessment).

The codes are fixed here (the schema's allowed values, the data dictionary's); the words pages
show for them, their FHIR codes and their sources are the knowledge base's (adverse_events.toml).
A record stores the code; a page shows the words, never the code.

Open: an event is open while its status is recovering, ongoing or unknown. A record saved before
the status was asked has none: it is then judged by the old rule, its outcome note's first word
(open unless the note begins with "resolved"), and the pages say "status not recorded" beside it,
so the guess is never silent. Correcting the record to add a status ends the guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, get_args

from pydantic import ValidationError, ValidatorFunctionWrapHandler
from pydantic_core import PydanticCustomError

from bontrack.knowledge.models import CodedTerms

Status = Literal["resolved", "recovering", "ongoing", "resolvedWithSequelae", "fatal", "unknown"]
Relatedness = Literal["certain", "probable", "possible", "unlikely", "conditional", "unassessable"]
OPEN = frozenset({"recovering", "ongoing", "unknown"})
# a record without a status (saved before it was asked) is closed when its note begins so
LEGACY_CLOSED_WORD = "resolved"
NOT_RECORDED = "status not recorded"


class Judged(Protocol):
    """What "open" reads of an adverse event record (``AdverseEventCreate``)."""

    @property
    def status(self) -> str | None: ...
    @property
    def outcome(self) -> str: ...


def terms(field: str) -> CodedTerms:
    """The knowledge base's codes and words of ``status`` or ``relatedness``."""
    from bontrack.knowledge import load_knowledge

    files = load_knowledge().files
    return files.adverse_event_status if field == "status" else files.adverse_event_relatedness


def words(field: str, code: str | None) -> str:
    """The words for a stored code ("" for none); a code the knowledge base does not name is
    shown as stored, so every stored value renders."""
    if not code:
        return ""
    return terms(field).words.get(code, code)


def choices(field: str) -> list[tuple[str, str]]:
    """(code, words) of a field, in the standard's order: a form's options."""
    codes = get_args(Status if field == "status" else Relatedness)
    return [(code, words(field, code)) for code in codes]


def refused(field: str) -> str:
    """The message of a code that is not one of the field's: the words first (a page shows them,
    ``web.plain``), then the codes an API client sends."""
    shown = ", ".join(w for _c, w in choices(field))
    codes = ", ".join(c for c, _w in choices(field))
    return f"must be one of the words: {shown}; as codes: {codes}"


def coded(field: str) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """A wrap validator naming the allowed words and codes when a value is not a code."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("code", refused(field)) from None

    return check


def is_open(data: Judged) -> bool:
    """Still open: status recovering, ongoing or unknown; with no status recorded, the outcome
    note's first word decides (anything but "resolved..." is open)."""
    if data.status is not None:
        return data.status in OPEN
    return not data.outcome.strip().lower().startswith(LEGACY_CLOSED_WORD)


def status_text(data: Judged) -> str:
    """The status in words, or "status not recorded" for a record saved without one."""
    return words("status", data.status) or NOT_RECORDED


def history_words(field: str, value: str) -> str:
    """A stored status or relatedness as the history page shows it (words)."""
    return words(field, value) if field in ("status", "relatedness") else value
