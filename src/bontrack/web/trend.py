"""A patient's scores over time as inline SVG: one panel per score, injections as markers.

Axis ranges come from the instrument definitions (a score's low and high), not from literals.
Presentation attributes only (no ``style``), so the page's Content-Security-Policy holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from bontrack.dates import clamp, in_range

WIDTH = 640
PANEL_H = 120
LEFT, RIGHT, TOP, GAP, BOTTOM = 46, 16, 24, 34, 24
FLAG_H = 16  # a line below the axis saying how many dates are drawn at its edge
DATE_HALF_WIDTH = 34  # half the width of a date label ("26 Nov 2026") at font size 11
# each injection's date under the axis, slanted so that close dates do not overlap
DATE_ANGLE = 40  # degrees
DATES_H = 74  # the room the slanted dates take below the axis ("22 Aug 2025" is about 75 px long)
MIN_DATE_GAP = 19  # px between two slanted labels (font 11: 19 x sin 40 = 12 px apart)


@dataclass(frozen=True)
class Series:
    """One score: its name, range, colour and measurements."""

    label: str
    low: float
    high: float
    colour: str
    points: list[tuple[dt.date, float]]


@dataclass(frozen=True)
class Marker:
    """An injection session on the time axis."""

    day: dt.date
    label: str


def _ticks(low: float, high: float) -> list[float]:
    step = (high - low) / 2
    return [low, low + step, high]


def _date_axis(
    marked: list[dt.date],
    first: dt.date,
    last: dt.date,
    span: int,
    x_of: Callable[[dt.date], float],
    bottom: float,
) -> list[str]:
    """Under the axis, a tick and the date of each injection (slanted; a date closer than
    MIN_DATE_GAP to the one before keeps its tick, its date is in the marker's tooltip); with no
    injection, two dates of the axis' span."""
    out = []
    if not marked:
        for day in (first + dt.timedelta(days=span // 10), last - dt.timedelta(days=span // 10)):
            # over a short span the dates sit at the very ends: kept inside the picture
            x = min(max(x_of(day), DATE_HALF_WIDTH), WIDTH - DATE_HALF_WIDTH)
            out.append(
                f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" font-size="11" '
                f'fill="#5b6573">{day:%d %b %Y}</text>'
            )
        return out
    shown = -float(MIN_DATE_GAP)
    for day in marked:
        x = x_of(day)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#7a4a9a"/>')
        if x - shown >= MIN_DATE_GAP:
            shown = x
            out.append(
                f'<text class="injection-date" x="{x + 3:.1f}" y="{bottom + 14}" text-anchor="end" '
                f'font-size="11" fill="#4a2a60" transform="rotate(-{DATE_ANGLE} {x + 3:.1f} {bottom + 14})">'
                f"{day:%d %b %Y}</text>"
            )
    return out


def trend_svg(series: list[Series], markers: list[Marker], *, title: str = "Scores over time") -> Markup:
    """Stacked panels sharing the date axis; an empty chart says there is nothing to plot.

    A stored date outside 1900..2100 (a registry imported from elsewhere) is drawn at that edge
    of the axis, its own date in its tooltip, and the chart says how many there are.
    """
    stored = [d for s in series for d, _ in s.points] + [m.day for m in markers]
    days = [clamp(d) for d in stored]
    outside = sum(not in_range(d) for d in stored)
    marked = sorted({clamp(m.day) for m in markers})
    below = DATES_H if marked else BOTTOM
    height = TOP + len(series) * (PANEL_H + GAP) - GAP + below + (FLAG_H if outside else 0)
    out = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    if not days:
        out.append(
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" font-size="13" '
            'fill="#5b6573">No measurements yet</text></svg>'
        )
        return Markup("".join(out))
    first, last = min(days), max(days)
    span = max(1, (last - first).days)
    first -= dt.timedelta(days=max(3, span // 30))
    last += dt.timedelta(days=max(3, span // 30))
    span = (last - first).days
    plot_w = WIDTH - LEFT - RIGHT

    def x_of(day: dt.date) -> float:
        return LEFT + plot_w * (clamp(day) - first).days / span

    bottom_axis = TOP + len(series) * (PANEL_H + GAP) - GAP
    for m in markers:
        x = x_of(m.day)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom_axis}" stroke="#7a4a9a" '
            f'stroke-dasharray="4 3" stroke-width="1.2"><title>{escape(m.label)}</title></line>'
            f'<path d="M {x - 5:.1f} {TOP} L {x + 5:.1f} {TOP} L {x:.1f} {TOP + 8}" fill="#7a4a9a">'
            f"<title>{escape(m.label)}</title></path>"
        )
    for i, s in enumerate(series):
        top = TOP + i * (PANEL_H + GAP)

        def y_of(value: float, top: float = top, s: Series = s) -> float:
            return top + PANEL_H * (s.high - value) / (s.high - s.low)

        out.append(
            f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#d8dde4"/>'
        )
        for tick in _ticks(s.low, s.high):
            y = y_of(tick)
            out.append(
                f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eef1f5"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                f'fill="#5b6573">{tick:g}</text>'
            )
        out.append(
            f'<text x="{LEFT}" y="{top - 7}" font-size="12" font-weight="600" '
            f'fill="{s.colour}">{escape(s.label)}</text>'
        )
        pts = sorted(s.points)
        if len(pts) > 1:
            path = " ".join(f"{x_of(d):.1f},{y_of(v):.1f}" for d, v in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"/>')
        for d, v in pts:
            out.append(
                f'<circle cx="{x_of(d):.1f}" cy="{y_of(v):.1f}" r="3.5" fill="{s.colour}">'
                f"<title>{escape(s.label)} {v:g} on {d}</title></circle>"
            )
        if not pts:
            out.append(
                f'<text x="{LEFT + plot_w / 2}" y="{top + PANEL_H / 2}" text-anchor="middle" '
                f'font-size="12" fill="#5b6573">not measured</text>'
            )
    out.extend(_date_axis(marked, first, last, span, x_of, bottom_axis))
    if outside:
        flag_y = bottom_axis + below - BOTTOM + 16 + FLAG_H
        out.append(
            f'<text x="{LEFT}" y="{flag_y}" font-size="11" fill="#a8071a">'
            f"{outside} date{'s' if outside > 1 else ''} outside 1900 to 2100 drawn at the edge: "
            "check and correct</text>"
        )
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{TOP - 7}" text-anchor="end" font-size="11" '
        'fill="#7a4a9a">▼ injection session</text></svg>'
    )
    return Markup("".join(out))
