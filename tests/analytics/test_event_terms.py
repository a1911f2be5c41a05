"""One rule makes free-text adverse events one event (analytics.event_terms): case, white space
and Unicode forms ignored, a known reaction's other names counted as the reaction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bontrack.analytics.event_terms import event_groups, event_key, known_names, written

KNOWN = known_names(["dysphagia", "neck pain"], {"dysphagia": ["difficulty swallowing"]})


@pytest.mark.parametrize(
    ("texts", "key"),
    [
        (["Dysphagia", "DYSPHAGIA ", "dysphagia", " dysphagia\t", "\u00a0Dysphagia\n"], "dysphagia"),
        (
            ["neck pain", "Neck  Pain", "NECK\tPAIN", "neck\u00a0pain", "neck\u3000pain", "neck \u2009 pain"],
            "neck pain",
        ),
        (
            ["ÄRGER", "ärger", "A\u0308rger", "A\u0308RGER"],
            "ärger",
        ),  # the combining diaeresis as the one letter
        (["STRASSE", "Straße", "strasse", "STRAẞE"], "strasse"),  # full case folding: ß and ẞ as ss
        (["\uff24ysphagia", "Dysphagia"], "dysphagia"),  # a full-width D (NFKC)
        (["\ufb01ve", "FIVE"], "five"),  # the fi ligature (NFKC)
        (["ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ"], "σίσυφοσ"),  # final sigma folds as sigma
    ],
)
def test_event_key__spellings_of_one_event_have_one_key(texts: list[str], key: str) -> None:
    assert {event_key(t) for t in texts} == {key}


def test_event_key__the_turkish_dotted_capital_i_is_neither_i_nor_dotless() -> None:
    # default (not Turkic) folding: "I" -> "i"; "İ" -> "i" + combining dot above (U+0307)
    assert event_key("I") == event_key("i") == "i"
    assert event_key("İ") == "i\u0307"
    assert event_key("DİSFAJİ") != event_key("disfaji") and event_key("DISFAJI") == event_key("disfaji")
    assert event_key("\u0131") == "\u0131"  # the dotless small i stays itself


def test_event_key__texts_that_differ_in_letters_stay_apart() -> None:
    assert event_key("neck pain") != event_key("neckpain") != event_key("neck-pain")
    assert event_key("  \t\u00a0") == ""  # only white space: no event
    # a zero-width space is not white space (str.isspace): it stays (it is a different text)
    assert event_key("neck\u200bpain") != event_key("neck pain")


def test_written__white_space_tidied_case_kept() -> None:
    assert written("  Neck\t\u00a0Pain ") == "Neck Pain"


def test_known_names__a_name_claimed_by_two_reactions_is_refused() -> None:
    assert KNOWN == {
        "dysphagia": "dysphagia",
        "neck pain": "neck pain",
        "difficulty swallowing": "dysphagia",
    }
    with pytest.raises(ValueError, match="names both"):
        known_names(["dysphagia", "neck pain"], {"dysphagia": ["Neck  PAIN"]})
    with pytest.raises(ValueError, match="empty"):
        known_names(["dysphagia"], {"dysphagia": [" "]})


def test_event_groups__one_group_per_key_named_by_the_reaction_or_the_commonest_form() -> None:
    events = pd.Series(
        [
            "Dysphagia",
            "DYSPHAGIA ",
            "dysphagia",
            "Difficulty swallowing",
            "Dry  mouth",
            "dry mouth",
            "Dry mouth",
            None,
            "  ",
            "Rash",
            "rash",
        ],
        dtype=object,
    )
    g = event_groups(events, KNOWN)
    assert g.keys == ["dry mouth", "dysphagia", "rash"]
    # dry mouth: "Dry mouth" written twice ("Dry  mouth" tidied), "dry mouth" once; rash: a tie,
    # the first in code-point order ("R" before "r")
    assert g.names == ["Dry mouth", "dysphagia", "Rash"]
    assert g.codes.tolist() == [1, 1, 1, 1, 0, 0, 0, -1, -1, 2, 2]


def test_event_groups__nothing_to_group() -> None:
    g = event_groups(np.array([], dtype=object), KNOWN)
    assert (g.codes.tolist(), g.keys, g.names) == ([], [], [])
