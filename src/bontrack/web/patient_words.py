"""What a patient reads, on their link's page (``/p/{token}``) and from the API a patient's app
uses (``/api/patient-link``): whole sentences in plain words, never a field path, a score's name or
pydantic's English ("List should have at least 1 item after validation").

The link service writes its own refusals for the patient (``bontrack.auth.link_words``); an
answer the outcomes service refuses is named by its question ("Question 1 of the Numeric Pain
Rating Scale must be a whole number from 0 to 10."); anything else reads as a form to reload.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bontrack.auth.link_words import ANSWER_ALL, PatientWords
from bontrack.auth.links import LinkGone, LinkUsed
from bontrack.errors import FieldError, InputError
from bontrack.instruments.definitions import load_definition

# a link cut short, mistyped or unknown
WRONG_LINK = "This link is incomplete or wrong; ask the clinic for a new one."
UNREADABLE = "Your answers could not be read; please reload the page and try again."
NOTHING_SENT = "No answers were sent. Please answer the questions before sending."
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_FIELD = re.compile(r"^forms\[(\d+)\](?:\.answers(?:\.(\d+))?)?")


@dataclass(frozen=True)
class Said:
    """One thing the patient reads: the sentence, the form it is about (an instrument id, when
    known) and the questions to mark: ``item``, the one the sentence is about; ``items``, each
    to be marked as not answered yet."""

    field: str
    text: str
    instrument: str | None = None
    item: int | None = None
    items: tuple[int, ...] = ()


def long_date(day: dt.date) -> str:
    """The day as a patient reads it, whatever the server's locale: "6 December 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def received(used_at: dt.datetime | None) -> str:
    """What a used link says: the answers arrived (and when), nothing more to do."""
    when = f" on {long_date(used_at.date())}" if used_at is not None else ""
    return f"Your answers were received{when}. Thank you — there is nothing more to do."


def gone(exc: LinkGone) -> str:
    """A link that cannot be used, in a sentence (a used one: the answers were received)."""
    if isinstance(exc, LinkUsed):
        return received(exc.used_at)
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def told(exc: InputError, instruments: Sequence[str]) -> list[Said]:
    """The service's refusal of forms sent through a link, as the patient reads it;
    ``instruments``: the instrument of each form sent, in order (forms[i])."""
    from bontrack.web.plain import sentence

    out = []
    for error in exc.errors:
        found = _FIELD.match(error.field)
        index = int(found[1]) if found else None
        instrument = instruments[index] if index is not None and index < len(instruments) else None
        if isinstance(error, PatientWords):
            out.append(Said(error.field, error.message, instrument, items=error.items))
        elif found and found[2] and instrument is not None:
            name = load_definition(instrument).name
            label = f"Question {found[2]} of the {name}"
            words = sentence(error.field, error.message, {error.field: label})
            out.append(Said(error.field, words, instrument, item=int(found[2])))
        else:
            out.append(Said(error.field, UNREADABLE, instrument))
    return out


def request_words(errors: Sequence[FieldError]) -> list[Said]:
    """A body the API could not take as forms (none sent, a form without answers, a wrong shape)."""
    out: list[Said] = []
    for error in errors:
        whole = error.field in ("forms", "(body)")
        if whole and ("at least 1" in error.message or "required" in error.message.lower()):
            text = NOTHING_SENT
        elif re.fullmatch(r"forms\[\d+\]\.answers", error.field) and "at least 1" in error.message:
            text = ANSWER_ALL
        else:
            text = UNREADABLE
        if text not in (s.text for s in out):
            out.append(Said(error.field, text))
    return out
