"""The chart's score picture keeps its date labels inside the picture, however short the span."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bontrack.web.trend import DATE_HALF_WIDTH, WIDTH, Marker, Series, trend_svg


@pytest.mark.parametrize("days", [0, 1, 6, 40, 400])
def test_date_labels_stay_inside_the_picture(days: int) -> None:
    start = dt.date(2026, 3, 2)
    points = [(start, 6.0), (start + dt.timedelta(days=days), 3.0)]
    svg = str(trend_svg([Series("NPRS", 0, 10, "#c0392b", points)], [Marker(start, "session")]))
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)"[^>]*>\d\d \w{3} \d{4}</text>', svg)]
    assert len(xs) == 2
    assert all(DATE_HALF_WIDTH <= x <= WIDTH - DATE_HALF_WIDTH for x in xs), xs
    assert xs[0] < xs[1]
