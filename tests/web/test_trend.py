"""The chart's score picture: each injection's date under the axis, inside the picture, however
short or long the span; without injections, two dates of the span."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re

import pytest

from bontrack.web.trend import DATE_ANGLE, DATE_HALF_WIDTH, MIN_DATE_GAP, WIDTH, Marker, Series, trend_svg

LABEL = re.compile(r'<text class="injection-date" x="([\d.]+)"[^>]*>(\d\d \w{3} \d{4})</text>')
LABEL_WIDTH = 2 * DATE_HALF_WIDTH  # "26 Nov 2026" at font size 11


@pytest.mark.parametrize("days", [0, 1, 6, 40, 400])
def test_span_dates_stay_inside_the_picture_without_injections(days: int) -> None:
    start = dt.date(2026, 3, 2)
    points = [(start, 6.0), (start + dt.timedelta(days=days), 3.0)]
    svg = str(trend_svg([Series("NPRS", 0, 10, "#c0392b", points)], []))
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)"[^>]*>\d\d \w{3} \d{4}</text>', svg)]
    assert len(xs) == 2
    assert all(DATE_HALF_WIDTH <= x <= WIDTH - DATE_HALF_WIDTH for x in xs), xs
    assert xs[0] < xs[1]


@pytest.mark.parametrize("days", [0, 1, 6, 40, 400, 3000])
def test_each_injection_date_is_marked_on_the_axis(days: int) -> None:
    start = dt.date(2026, 3, 2)
    sessions = [start + dt.timedelta(days=d) for d in sorted({0, days // 3, days})]
    points = [(start, 6.0), (start + dt.timedelta(days=days), 3.0)]
    svg = str(trend_svg([Series("NPRS", 0, 10, "#c0392b", points)], [Marker(d, "s") for d in sessions]))
    labels = LABEL.findall(svg)
    assert [text for _x, text in labels] == [f"{d:%d %b %Y}" for d in sessions]
    # slanted labels end at their tick: the text reaches this far to the left
    reach = LABEL_WIDTH * math.cos(math.radians(DATE_ANGLE))
    assert all(reach <= float(x) <= WIDTH for x, _ in labels), labels
    # no other date under the axis (the old labels at a tenth of the span are gone)
    assert len(re.findall(r">\d\d \w{3} \d{4}</text>", svg)) == len(sessions)


def test_close_injections_keep_their_ticks_and_skip_overlapping_dates() -> None:
    start = dt.date(2020, 1, 6)
    sessions = [start + dt.timedelta(days=84 * n) for n in range(30)] + [start + dt.timedelta(days=85)]
    svg = str(
        trend_svg([Series("NPRS", 0, 10, "#c0392b", [(start, 5.0)])], [Marker(d, "s") for d in sessions])
    )
    xs = [float(x) for x, _ in LABEL.findall(svg)]
    assert svg.count('stroke="#7a4a9a"/>') == len(sessions)  # one tick per injection
    assert len(xs) > 1 and len(xs) < len(sessions)
    assert all(b - a >= MIN_DATE_GAP for a, b in itertools.pairwise(xs))
