"""Who acted, in words for a page (bontrack.actor.who)."""

from __future__ import annotations

import pytest

from bontrack.actor import who
from bontrack.auth.links import PatientLinkRead
from bontrack.config import Settings


@pytest.mark.parametrize(
    ("actor", "words"),
    [
        ("user:ada@clinic.example.org", "ada@clinic.example.org"),
        ("cli:root", "the command line (login root)"),
        ("cli:unknown", "the command line"),
        ("cli:", "the command line"),
        ("patient-link:0b7e", "the patient, through a link"),
        ("registry import 2026", "registry import 2026"),  # an --actor as given
        ("", ""),
    ],
)
def test_who(actor: str, words: str) -> None:
    assert who(actor) == words


def test_the_command_lines_own_actor_reads_as_the_command_line() -> None:
    assert who(Settings(actor=None).resolved_actor()).startswith("the command line")


def test_a_patient_links_actor_reads_as_the_patient() -> None:
    assert who(PatientLinkRead.model_construct(id="abc").actor) == "the patient, through a link"
