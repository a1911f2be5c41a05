"""Properties that must hold for every answer set, not only the worked examples."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from bontrack.instruments import score
from bontrack.instruments.definitions import exact_sum, load_definition

RAND = load_definition("rand36")
NDI_ITEMS = [str(n) for n in range(1, 11)]

# Which end of each RAND-36 item's printed list is the best answer, read from the item texts
# (independently of the recode values in the definition): "Excellent", "Much better",
# "Not at all", "None", "All of the time" for good states, "Definitely true" for 34 and 36.
BEST_IS_FIRST = {1, 2, 20, 21, 22, 23, 26, 27, 30, 34, 36}


def _rand_codes(n: int) -> list[int]:
    return list(RAND.item(n).codes())


rand_answers = st.fixed_dictionaries(
    {},
    optional={str(n): st.one_of(st.none(), st.sampled_from(_rand_codes(n))) for n in range(1, 37)},
)
ndi_code = st.integers(min_value=0, max_value=5)


@given(rand_answers)
def test_rand36__every_scale_within_0_100(answers: dict[str, int | None]) -> None:
    result = score("rand36", answers)
    for name, value in result.scores.items():
        assert value is None or 0 <= value <= 100, name
    assert result.answered + len(result.missing) == 36


@given(rand_answers, st.integers(min_value=1, max_value=36), st.data())
def test_rand36__better_answer_never_lowers_a_scale(
    answers: dict[str, int | None], item: int, data: st.DataObject
) -> None:
    codes = _rand_codes(item)
    worse, better = sorted(data.draw(st.lists(st.sampled_from(codes), min_size=2, max_size=2)))
    if item in BEST_IS_FIRST:  # a lower code is better
        worse, better = better, worse
    before = score("rand36", {**answers, str(item): worse}).scores
    after = score("rand36", {**answers, str(item): better}).scores
    for name in before:
        b, a = before[name], after[name]
        assert (b is None) == (a is None)
        assert b is None or a is None or a >= b, name


@given(st.lists(ndi_code, min_size=10, max_size=10))
def test_ndi__complete_form_within_range_and_percent_is_twice_total(codes: list[int]) -> None:
    result = score("ndi", dict(zip(NDI_ITEMS, codes, strict=True)))
    total, percent = result.scores["total"], result.scores["percent"]
    assert total == sum(codes) and percent is not None
    assert 0 <= total <= 50 and 0 <= percent <= 100
    assert percent == 2 * total


@given(st.lists(ndi_code, min_size=10, max_size=10), st.integers(0, 9), st.integers(0, 9))
def test_ndi__better_answer_never_raises_total(codes: list[int], i: int, j: int) -> None:
    # Keep item j blank (or not, when i == j) so the prorated path is exercised too.
    answers: dict[str, int | None] = dict(zip(NDI_ITEMS, codes, strict=True))
    if i != j:
        answers[NDI_ITEMS[j]] = None
    assume(codes[i] > 0)
    worse = score("ndi", answers).scores["total"]
    better = score("ndi", {**answers, NDI_ITEMS[i]: codes[i] - 1}).scores["total"]
    assert worse is not None and better is not None and better < worse


@given(
    st.lists(ndi_code, min_size=8, max_size=8),
    st.sets(st.integers(0, 9), min_size=1, max_size=2),
)
def test_ndi__proration_agrees_with_complete_form(answered_codes: list[int], missing: set[int]) -> None:
    """Filling each blank with the mean of the answered items gives the prorated score."""
    keep = [n for n in range(10) if n not in missing]
    codes = answered_codes[: len(keep)]
    if len(keep) == 9:  # choose the 9th answer so the mean of the nine is a whole number
        codes.append((-sum(codes)) % 9)
        assume(codes[-1] <= 5)
    assume(sum(codes) % len(keep) == 0)
    mean = sum(codes) // len(keep)
    partial: dict[str, int | None] = {NDI_ITEMS[n]: c for n, c in zip(keep, codes, strict=True)}
    complete = {**partial, **{NDI_ITEMS[n]: mean for n in missing}}
    prorated = score("ndi", partial)
    full = score("ndi", complete)
    assert prorated.missing == tuple(sorted(n + 1 for n in missing))
    assert prorated.scores["total"] == full.scores["total"]
    assert prorated.scores["percent"] == full.scores["percent"]
    assert prorated.band == full.band


@given(st.lists(st.one_of(st.none(), ndi_code), min_size=10, max_size=10))
def test_ndi__scorable_exactly_when_at_most_two_missing(codes: list[int | None]) -> None:
    result = score("ndi", dict(zip(NDI_ITEMS, codes, strict=True)))
    blanks = codes.count(None)
    assert len(result.missing) == blanks
    assert (result.scores["percent"] is not None) == (blanks <= 2)
    if blanks <= 2:
        answered = [c for c in codes if c is not None]
        percent = result.scores["percent"]
        assert percent is not None
        assert abs(percent - sum(answered) / (5 * len(answered)) * 100) < 1e-9


@given(rand_answers, st.sampled_from(list(RAND.scores)))
def test_rand36__scale_is_mean_of_answered_recodes(answers: dict[str, int | None], scale: str) -> None:
    values = [
        RAND.item(n).value_of(code)
        for n in RAND.scores[scale].items
        if (code := answers.get(str(n))) is not None
    ]
    got = score("rand36", answers).scores[scale]
    if values:
        assert got is not None and abs(got - sum(values) / len(values)) < 1e-9
    else:
        assert got is None


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).map(Fraction),
            st.fractions(max_denominator=10_000),
        ),
        max_size=40,
    )
)
def test_exact_sum__equals_adding_fractions_one_by_one(values: list[Fraction]) -> None:
    assert exact_sum(values) == sum(values, Fraction(0))
