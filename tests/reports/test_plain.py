"""The report's JSON data and text (``reports.plain``) are those of the slow way, byte for byte.

The reference is kept here as it was written before: ``finite(asdict(x))`` for ``to_dict`` and
``json.dumps(..., indent=2, ensure_ascii=False)`` and a newline for ``report_json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bontrack.reports.content import Report
from bontrack.reports.plain import indented, plain
from bontrack.reports.render import report_json
from bontrack.reports.sections.adverse_events import EventRow
from bontrack.reports.sections.common import finite
from bontrack.reports.sections.duration import Duration
from bontrack.reports.sections.evidence import (
    Evidence,
    EvidenceArm,
    NotPooledTrial,
    Pooled,
    PublishedEstimate,
)
from bontrack.reports.sections.responders import Mean, Rate
from bontrack.reports.sections.review import ReviewRow
from bontrack.reports.sections.waste import WasteRow

NAN, INF = float("nan"), float("inf")
# texts that would fool a writer splitting JSON text: separators, brackets, newlines, non-ASCII
ODD = ["", "Ödem \u2013 Schluckstörung 😷", '}, {"x": NaN,\n  ]', 'a\\b"c\td\u2028e', "NaN", "-Infinity"]


@dataclass(frozen=True)
class _Box:
    value: Any


def reference_dict(x: Any) -> Any:
    return finite(asdict(x)) if not isinstance(x, _Box) else finite(asdict(x)["value"])


def reference_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def report() -> Report:
    """A Report holding every kind of value: nested dataclasses, rows with and without NaN or
    infinity, floats json writes with exponents, -0.0, text that is not ASCII, empty lists and
    dicts, None, ints, bools, dates as text, tuples, numpy floats."""
    rate = Rate(
        label="Pain ≥ 30% lower",
        weeks=6,
        scope="first cycles",
        n=12,
        responders=5,
        k=12,
        n_eff=11.5,
        rate=5 / 12,
        low=1e-05,
        high=NAN,
    )
    mean = Mean(label="Pain", weeks=2, scope="all cycles", n=3, k=2, mean=-0.0, low=-INF, high=INF)
    clean = Mean(
        label="NDI", weeks=12, scope="first cycles", n=40, k=40, mean=1e16, low=1.5e-7, high=123456789.125
    )
    return Report(
        generated_on="2026-11-23",
        knowledge_version="2026.3",
        summary={
            "patients": 400,
            "first_session": "2025-01-13",
            "moderate_percent": 30.0,
            "cycles_per_patient": {"1": 3, "2": 0},
            "visit_weeks": [2, 6, 12],
            "nothing": {},
            "none": [],
            "big": 10**30,
            "tiny": 5e-324,
            "yes": True,
            "no": False,
            "missing": None,
            "nan": NAN,
        },
        responders=[rate, rate, rate],
        changes=[mean, clean, clean],
        duration=Duration(
            cycles_judged=5,
            cycles_with_benefit=3,
            events=2,
            censored=1,
            median_days=None,
            median_low=NAN,
            median_high=INF,
            turnbull_median_low=np.float64(NAN),  # type: ignore[arg-type]
            turnbull_median_high=np.float64(28.5),  # type: ignore[arg-type]
            timeline=[0.0, 14.0, 42.0, 1e-05],
            survival=[1.0, NAN, 0.5, -INF],
            ci_low=[],
            ci_high=[0.25, 0.5],
            censored_days=[84, 0, -1, 10**20],
            event_days=[],
            loss_intervals=[(14, 42), (84, None), (0, 2), (1, NAN), ()],  # type: ignore[list-item]
        ),
        lasting_relief={"cycles": 3, "lasting": 1},
        trajectories=[],
        rand36_profile=[],
        adverse_events=[
            EventRow(
                event="any",
                cycles=1,
                n_cycles=2,
                k=2,
                n_eff=None,
                rate=None,
                low=None,
                high=None,
                label_percent=None,
            ),
            EventRow(
                event="dysphagia — Schluckstörung",
                cycles=0,
                n_cycles=2,
                k=2,
                n_eff=2.0,
                rate=0.0,
                low=0.0,
                high=0.84,
                label_percent=1e-05,
            ),
        ],
        label_adverse_source=None,
        comparisons=[],
        comparisons_skipped=["too few: ±"],
        evidence=Evidence(
            arms=[
                EvidenceArm(
                    source="Trial", arm="toxin", definition="≥ 50%", rate=0.5, low=None, high=NAN, n=None
                )
            ],
            pooled=[
                Pooled(
                    outcome="pain",
                    title="Pain",
                    measure="SMD",
                    k=1,
                    studies=["A 2020"],
                    estimate=-0.0,
                    ci_low=-INF,
                    ci_high=1e16,
                    shown="\u22120.3",
                    tau2=0.0,
                    i2=NAN,
                    method="one trial",
                    hksj=False,
                    df=None,
                    se=0.1,
                    yi=[0.1, NAN],
                    vi=[],
                    published=[
                        PublishedEstimate(
                            what="review", shown="k = 3", verified=True, url="https://example.org/ä"
                        )
                    ],
                    not_pooled=[NotPooledTrial(study="B", status="not verified", reason=ODD[2], url="")],
                )
            ],
            published=[],
            clinic_change=mean,
            words=ODD[1],
        ),
        stop_and_review=[
            ReviewRow(record_number=text or "R-1", cycles=i, last_session="2026-01-0" + str(i))
            for i, text in enumerate(ODD)
        ],
        caveats=ODD,
        definitions={"as_of": ODD[3], "empty": ""},
        waste=[
            WasteRow(
                month="2026-01",
                product="abobotulinumtoxinA",
                bought_units=500.0,
                administered_units=1e16,
                discarded_in_sessions_units=-0.0,
                discarded_unopened_units=1e-05,
                discarded_units=0.1,
                share_discarded=None,
            ),
            WasteRow(
                month="2026-02",
                product="ä",
                bought_units=0.0,
                administered_units=0.0,
                discarded_in_sessions_units=0.0,
                discarded_unopened_units=0.0,
                discarded_units=0.0,
                share_discarded=NAN,
            ),
        ],
    )


def test_to_dict_and_report_json__the_bytes_of_finite_asdict_and_json_dumps() -> None:
    r = report()
    expected = reference_dict(r)
    got = r.to_dict()
    assert repr(got) == repr(expected)  # repr tells 1 from True, -0.0 from 0.0, a tuple from a list
    assert report_json(r) == reference_text(expected) + "\n"
    text = report_json(r)  # the values json writes with exponents, as json writes them
    assert '"mean": 1e+16' in text and '"low": 1e-05' in text and '"mean": -0.0' in text
    assert (
        '"median_low": null' in text and "[\n        1,\n        NaN\n      ]" in text
    )  # a tuple: as before


def test_one_row_changed__the_text_changes_there() -> None:
    r = report()
    r.stop_and_review[2] = ReviewRow(record_number="R-2", cycles=2, last_session="2026-01-02")
    assert report_json(r) == reference_text(reference_dict(r)) + "\n"
    assert report_json(r) != report_json(report())


class _Odd(float):
    """A float subclass json writes with float.__repr__."""


@dataclass(frozen=True)
class _Pair:
    a: Any
    b: Any = None


@dataclass
class _Wide:
    rows: list[Any] = field(default_factory=list)
    more: dict[str, Any] = field(default_factory=dict)
    one: Any = None


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e-05, 1e16, -0.0, 5e-324, 1.7976931348623157e308])
    | st.sampled_from(ODD)
    | st.text(max_size=8)
    | st.floats(allow_nan=True).map(_Odd)
)


def _values(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=4) | st.sampled_from(ODD), children, max_size=4)
        | st.dictionaries(st.integers(-3, 3) | st.booleans() | st.none(), children, max_size=3)
        | st.builds(_Pair, children, children)
        | st.builds(
            _Wide,
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=3), children, max_size=3),
            children,
        )
        # rows: lists of one dataclass, of dicts, of tuples (the writer's fast paths)
        | st.lists(st.builds(_Pair, scalars, scalars), min_size=1, max_size=6)
        | st.lists(
            st.dictionaries(st.sampled_from(["a", "b", ODD[2]]), scalars, max_size=3), min_size=1, max_size=5
        )
        | st.lists(
            st.lists(scalars, max_size=3).map(tuple) | st.lists(scalars, max_size=3), min_size=1, max_size=5
        )
        | st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=6)
    )


values = st.recursive(scalars, _values, max_leaves=30)


@settings(max_examples=400)
@given(values)
def test_any_value__plain_and_indented_are_finite_asdict_and_json_dumps(x: Any) -> None:
    expected = reference_dict(_Box(x))
    got = plain(x)
    assert repr(got) == repr(expected)
    assert indented(got) == reference_text(expected)
    assert written(indented, x) == written(reference_text, x)  # the writer alone (json may refuse)


def written(write: Any, x: Any) -> str:
    try:
        return str(write(x))
    except (TypeError, ValueError) as e:
        return f"refused: {type(e).__name__}"


def test_what_json_refuses__refused_the_same() -> None:
    for bad in ([1, {2, 3}], {"a": [object()]}, {(1, 2): 3}):
        for write in (indented, reference_text):
            try:
                write(bad)
            except TypeError as e:
                assert "JSON serializable" in str(e) or "keys must be" in str(e)
            else:
                raise AssertionError(f"{write.__name__} wrote {bad!r}")
    assert math.isnan(json.loads(indented([NAN]))[0])  # json's NaN (finite, in plain, takes it away)
