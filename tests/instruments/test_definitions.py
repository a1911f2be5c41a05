"""Instrument definition files: they load, hold what the forms need, and reject bad data."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from bontrack.instruments import INSTRUMENT_IDS, load_definition
from bontrack.instruments.definitions import DefinitionError, build_definition
from bontrack.knowledge import load_knowledge


def _raw(instrument_id: str) -> dict[str, Any]:
    folder = resources.files("bontrack.instruments") / "definitions"
    return tomllib.loads((folder / f"{instrument_id}.toml").read_text(encoding="utf-8"))


def _sources() -> set[str]:
    return set(load_knowledge().files.sources)


@pytest.mark.parametrize("instrument_id", INSTRUMENT_IDS)
def test_load__every_definition_is_valid(instrument_id: str) -> None:
    d = load_definition(instrument_id)
    assert d.id == instrument_id
    assert d.license and d.attribution and d.instructions
    assert d.primary_score in d.scores


def test_ndi__items_codes_and_loinc() -> None:
    d = load_definition("ndi")
    assert len(d.items) == 10
    assert all(item.codes() == (0, 1, 2, 3, 4, 5) for item in d.items)
    assert [item.loinc for item in d.items] == [
        f"822{n}" for n in ("27-0", "28-8", "29-6", "30-4", "31-2", "32-0", "33-8", "34-6", "35-3", "36-1")
    ]
    assert d.codes.panel == "82226-2" and d.scores["total"].loinc == "82237-9"
    assert d.codes.verified is False  # read from a sample IG, not loinc.org
    assert [(b.name, b.low) for b in d.scoring.bands] == [
        ("none", 0),
        ("mild", 5),
        ("moderate", 15),
        ("severe", 25),
        ("complete", 35),
    ]


def test_nprs__loinc_answer_codes() -> None:
    d = load_definition("nprs")
    assert d.scores["pain_intensity"].loinc == "72514-3"
    assert d.item(1).codes() == tuple(range(11))
    assert all(option.loinc.startswith("LA") for option in d.item(1).options)


def test_vas__whole_millimetres() -> None:
    item = load_definition("vas").item(1)
    assert item.codes() == tuple(range(101)) and item.unit == "mm"


def test_rand36__scales_labels_and_membership() -> None:
    d = load_definition("rand36")
    assert len(d.items) == 36
    assert d.scores["pain"].label == "Bodily pain"
    assert d.scores["emotional_wellbeing"].label == "Mental health"
    members = {name: list(s.items) for name, s in d.scores.items()}
    assert members == {
        "physical_functioning": list(range(3, 13)),
        "role_physical": [13, 14, 15, 16],
        "role_emotional": [17, 18, 19],
        "energy_fatigue": [23, 27, 29, 31],
        "emotional_wellbeing": [24, 25, 26, 28, 30],
        "social_functioning": [20, 32],
        "pain": [21, 22],
        "general_health": [1, 33, 34, 35, 36],
        "health_change": [2],
    }
    in_scales = sorted(n for s in d.scores.values() for n in s.items)
    assert in_scales == list(range(1, 37))  # every item scored exactly once
    assert all(s.better == "higher" and (s.low, s.high) == (0, 100) for s in d.scores.values())


# RAND's Table 1, typed in again from the scoring page, to check the data file against.
RAND_TABLE_1 = {
    (1, 2, 20, 22, 34, 36): [100, 75, 50, 25, 0],
    tuple(range(3, 13)): [0, 50, 100],
    tuple(range(13, 20)): [0, 100],
    (21, 23, 26, 27, 30): [100, 80, 60, 40, 20, 0],
    (24, 25, 28, 29, 31): [0, 20, 40, 60, 80, 100],
    (32, 33, 35): [0, 25, 50, 75, 100],
}


def test_rand36__recode_table_matches_rand_table_1() -> None:
    d = load_definition("rand36")
    for items, values in RAND_TABLE_1.items():
        for n in items:
            item = d.item(n)
            assert item.codes() == tuple(range(1, len(values) + 1)), n
            assert [item.value_of(c) for c in item.codes()] == values, n


def test_build__unknown_source_is_refused() -> None:
    raw = _raw("ndi")
    raw["source"] = "nowhere"
    with pytest.raises(DefinitionError, match="unknown source 'nowhere'"):
        build_definition(raw, _sources())


def test_build__items_out_of_order_are_refused() -> None:
    raw = _raw("ndi")
    raw["items"][0], raw["items"][1] = raw["items"][1], raw["items"][0]
    with pytest.raises(DefinitionError, match=r"numbered 1\.\.10"):
        build_definition(raw, _sources())


def test_build__scale_with_unknown_item_is_refused() -> None:
    raw = _raw("rand36")
    raw["scores"]["pain"]["items"] = [21, 99]
    with pytest.raises(DefinitionError, match="no item 99"):
        build_definition(raw, _sources())


def test_build__unknown_option_set_is_refused() -> None:
    raw = _raw("rand36")
    raw["items"][0]["option_set"] = "nonesuch"
    with pytest.raises(DefinitionError, match="unknown option set"):
        build_definition(raw, _sources())


def test_build__bands_must_rise() -> None:
    raw = _raw("ndi")
    raw["scoring"]["bands"][2]["low"] = 3
    with pytest.raises(DefinitionError, match="bands"):
        build_definition(raw, _sources())


def test_build__repeated_codes_are_refused() -> None:
    raw = _raw("ndi")
    raw["items"][0]["options"][1]["code"] = 0
    with pytest.raises(DefinitionError, match="codes repeat"):
        build_definition(raw, _sources())
