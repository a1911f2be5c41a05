"""score(): single-item scales, blanks, and answers that do not fit the form."""

from __future__ import annotations

import pytest

from bontrack.instruments import SCORER_VERSION, AnswerError, InstrumentError, score


def test_nprs__value_is_the_number_chosen() -> None:
    result = score("nprs", {"1": 7})
    assert result.scores == {"pain_intensity": 7.0}
    assert (result.answered, result.missing, result.reason) == (1, (), None)
    assert result.scorer_version == SCORER_VERSION


def test_vas__millimetres() -> None:
    assert score("vas", {"1": 63}).scores == {"pain_intensity_mm": 63.0}
    assert score("vas", {"1": 100}).scores == {"pain_intensity_mm": 100.0}


def test_nprs__blank_form_scores_null_with_reason() -> None:
    result = score("nprs", {"1": None})
    assert result.scores == {"pain_intensity": None}
    assert result.missing == (1,) and result.reason


def test_ndi__not_scorable_says_why() -> None:
    result = score("ndi", {"1": 1, "2": 1})
    assert result.scores == {"total": None, "percent": None, "raw_sum": None}
    assert result.band is None
    assert result.reason is not None and "8 items missing" in result.reason


def test_to_dict__has_the_cli_keys() -> None:
    d = score("ndi", {str(n): 1 for n in range(1, 11)}).to_dict()
    assert {"instrument", "scores", "answered", "missing"} <= d.keys()
    assert d["band"] == "mild" and d["missing"] == []


def test_score__unknown_instrument() -> None:
    with pytest.raises(InstrumentError, match="unknown instrument 'sf12'"):
        score("sf12", {})


@pytest.mark.parametrize(
    ("instrument", "answers", "message"),
    [
        ("ndi", {"7": 9}, r"NDI item 7 \(Work\) must be one of 0-5, got 9"),
        ("ndi", {"7": -1}, r"NDI item 7 \(Work\) must be one of 0-5, got -1"),
        ("ndi", {"11": 1}, r"NDI has no item '11'; items are '1'-'10'"),
        ("ndi", {"0": 1}, r"NDI has no item '0'"),
        ("ndi", {"01": 1}, r"NDI has no item '01'"),
        ("ndi", {"pain": 1}, r"NDI has no item 'pain'"),
        ("ndi", {"3": 2.5}, r"NDI item 3 \(Lifting\) must be a whole number, one of 0-5; got 2.5"),
        ("ndi", {"3": "2"}, r"must be a whole number, one of 0-5; got '2'"),
        ("ndi", {"3": True}, r"must be a whole number"),
        ("rand36", {"21": 7}, r"RAND-36 item 21 \(Bodily pain\) must be one of 1-6, got 7"),
        ("rand36", {"3": 0}, r"RAND-36 item 3 .* must be one of 1-3, got 0"),
        ("rand36", {"37": 1}, r"RAND-36 has no item '37'"),
        ("nprs", {"1": 11}, r"NPRS item 1 .* must be one of 0-10, got 11"),
        ("nprs", {"2": 1}, r"NPRS has no item '2'"),
        ("vas", {"1": 101}, r"VAS item 1 .* must be one of 0-100, got 101"),
        ("vas", {"1": 50.5}, r"must be a whole number"),
    ],
)
def test_answers__refused_with_item_and_allowed_codes(
    instrument: str, answers: dict[str, object], message: str
) -> None:
    with pytest.raises(AnswerError, match=message):
        score(instrument, answers)


def test_answers__error_carries_item_and_allowed() -> None:
    with pytest.raises(AnswerError) as caught:
        score("ndi", {"7": 9})
    assert (caught.value.item, caught.value.allowed) == (7, "0-5")


def test_answers__not_a_mapping() -> None:
    with pytest.raises(AnswerError, match="must be an object"):
        score("ndi", [1, 2, 3])  # type: ignore[arg-type]


def test_answers__int_keys_are_accepted() -> None:
    assert score("nprs", {1: 4}).scores == {"pain_intensity": 4.0}  # type: ignore[dict-item]
