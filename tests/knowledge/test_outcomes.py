"""Outcome interpretation facts in the knowledge base: sourced and explained."""

from __future__ import annotations

from bontrack.instruments import load_definition
from bontrack.knowledge import load_knowledge


def test_responder_thresholds__immpact() -> None:
    t = load_knowledge().files.outcomes.responder_thresholds
    assert (t.moderate_percent.value, t.substantial_percent.value) == (30, 50)
    assert t.moderate_percent.source == "dworkin_2008_immpact"


def test_mcid__values_and_sources() -> None:
    mcid = load_knowledge().files.outcomes.mcid
    assert (mcid["nprs"]["pain_intensity"].value, mcid["nprs"]["pain_intensity"].source) == (
        2,
        "farrar_2001",
    )
    assert "1.3" in mcid["nprs"]["pain_intensity"].note  # neck-specific, Cleland 2008
    assert mcid["ndi"]["total"].value == 5 and "7.5" in mcid["ndi"]["total"].note
    assert mcid["rand36"]["pain"].value is None
    assert "unverified" in mcid["rand36"]["pain"].note


def test_mcid__every_entry_names_a_real_score() -> None:
    for instrument_id, scores in load_knowledge().files.outcomes.mcid.items():
        definition = load_definition(instrument_id)
        for name in scores:
            assert name in definition.scores, f"{instrument_id}.{name}"
