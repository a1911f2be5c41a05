"""What a patient reads when the forms sent through their link cannot be taken: whole sentences in
plain words, without field paths, score names or a library's English.

A patient's page and a patient's app (``/api/patient-link``) show these sentences as they stand;
``PatientWords`` marks an error written so, and names the questions it is about, so that a page can
mark each of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bontrack.errors import FieldError

NOT_IN_FORM = "This answer does not belong to the form; please reload the page."
NOT_IN_LINK = "This form does not belong to this link; please reload the page."
SENT_TWICE = "A form was sent twice; please reload the page."
ANSWER_ALL = "Please answer the questions of this form before sending."
NOT_ANSWERED = "Not answered yet."


@dataclass(frozen=True)
class PatientWords(FieldError):
    """An error whose message is a whole sentence for the patient; ``items``: the questions (by
    number) it is about, each to be marked where the patient answers it."""

    items: tuple[int, ...] = ()


def numbers_in_words(numbers: Iterable[int]) -> str:
    """Question numbers as people say them: "4", "21 and 22", "4 to 10", "1, 3 and 5 to 8"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    parts = [
        str(run[0])
        if len(run) == 1
        else f"{run[0]} and {run[1]}"
        if len(run) == 2
        else f"{run[0]} to {run[-1]}"
        for run in runs
    ]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def unanswered(form_name: str, numbers: tuple[int, ...]) -> str:
    """The sentence naming them: "Questions 4 to 10 of the Neck Disability Index are not answered yet."."""
    several = len(numbers) > 1
    return (
        f"{'Questions' if several else 'Question'} {numbers_in_words(numbers)} of the {form_name} "
        f"{'are' if several else 'is'} not answered yet."
    )


def needed_unanswered(instrument: str, answers: Mapping[str, object]) -> tuple[int, ...]:
    """The questions not answered that the form's main score is made from (all of the form's, for
    a form scored as a whole; a scale's, for a form of scales such as the RAND-36's pain)."""
    from bontrack.instruments.definitions import load_definition

    definition = load_definition(instrument)
    if definition.scoring.method == "scale_means":
        wanted: Iterable[int] = definition.scores[definition.primary_score].items
    else:
        wanted = definition.item_numbers()
    return tuple(n for n in wanted if answers.get(str(n)) is None)
