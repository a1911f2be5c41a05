"""Where the body map's names and figure go, so the names stay readable on a phone.

The map's canvas is WIDTH units wide and scales with the page: a map is 300 px wide at the least
(the grid's ``minmax(300px, 1fr)`` in style.css), 316-346 px on a 390 px phone and about 436 px in
each of a 1280 px window's two columns. Text sizes are therefore in canvas units chosen for the
narrowest map: 18 units render 11.25 px at 300 px, 12-13 px on a phone and 16 px on a desktop.

The names are a column at the left, each its own width, and the figure is drawn as large as fits
to their right: a name may reach in over the figure's shoulders where the figure is narrower at
its height (the neck, the head), never onto the outline or the title. Text is placed by an
estimate of its width (``text_width``), generous for DejaVu Sans, Debian's sans-serif, which is
wider than the fonts phones use.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

WIDTH = 480
LABEL_FONT = 18.0  # the muscles' names
TITLE_FONT = 18.0
SIDE_FONT = 20.0  # the L and R
BADGE_FONT = 18.0  # the units on a muscle
MARGIN, GAP = 4.0, 8.0  # round the canvas; between a name and the figure
ROW = 1.3 * LABEL_FONT  # from one name's baseline to the next
LIFT = 0.35 * LABEL_FONT  # from a name's middle down to its baseline
ASCENT, DESCENT = 0.8 * LABEL_FONT, 0.25 * LABEL_FONT
FIGURE_HALF, FIGURE_TOP, FIGURE_BOTTOM = 144, 12, 340  # the outline's extent, in figure units
OUTLINE = (
    "M -22 80 L -24 112 Q -62 122 -116 134 Q -142 142 -144 170 L -142 340 L 142 340 L 144 170 "
    "Q 142 142 116 134 Q 62 122 24 112 L 22 80 Z"
)
HEAD = (0, 50, 31, 38)  # cx, cy, rx, ry
SIDE_AT = (-138, 332)  # the viewer's left L or R (start, baseline): low, where no leader line goes

# widths in hundredths of an em of DejaVu Sans, rounded up; anything else counts as 1 em
_LOWER = "62 64 55 64 62 36 64 64 28 28 58 28 98 64 62 64 64 42 53 40 64 60 82 60 60 53"
_UPPER = "69 69 70 78 64 58 78 76 30 30 66 56 87 75 79 61 79 70 64 62 74 69 99 69 62 69"
_EM = {c: int(w) / 100 for c, w in zip(string.ascii_lowercase, _LOWER.split(), strict=True)}
_EM |= {c: int(w) / 100 for c, w in zip(string.ascii_uppercase, _UPPER.split(), strict=True)}
_EM |= dict.fromkeys(string.digits, 0.64) | dict.fromkeys(" ,.'", 0.32) | dict.fromkeys("-()/:;", 0.4)


def text_width(text: str, size: float) -> float:
    """How wide ``text`` is drawn at ``size``: a little more than in DejaVu Sans."""
    return 1.02 * size * sum(_EM.get(c, 1.0) for c in text)


@dataclass(frozen=True)
class Layout:
    """Where the figure goes in the canvas."""

    figure_x: float  # the figure's midline
    top: float  # where the figure's y = 0 is
    scale: float  # canvas units per figure unit
    height: float

    def canvas(self, x: float, y: float) -> tuple[float, float]:
        return self.figure_x + self.scale * x, self.top + self.scale * y


@dataclass(frozen=True)
class Label:
    name: str
    x: float  # where the name ends (it starts at MARGIN)
    y: float  # its baseline
    target_x: float
    target_y: float


def _quadratic(
    a: tuple[float, float], c: tuple[float, float], b: tuple[float, float]
) -> list[tuple[float, float]]:
    ts = [i / 24 for i in range(25)]
    return [
        (
            (1 - t) ** 2 * a[0] + 2 * t * (1 - t) * c[0] + t * t * b[0],
            (1 - t) ** 2 * a[1] + 2 * t * (1 - t) * c[1] + t * t * b[1],
        )
        for t in ts
    ]


def _left_edge() -> list[tuple[float, float]]:
    """Points along the figure's left edge, top to bottom, in figure units (the outline is
    symmetric, so its left half bounds the names on either view)."""
    cx, cy, rx, ry = HEAD
    head = [
        (cx - rx * math.sqrt(max(0.0, 1 - ((y - cy) / ry) ** 2)), float(y))
        for y in range(cy - ry, cy + ry + 1)
    ]
    neck = [(-22 - 2 * i / 16, 80 + 32 * i / 16) for i in range(17)]
    shoulder = _quadratic((-24, 112), (-62, 122), (-116, 134)) + _quadratic(
        (-116, 134), (-142, 142), (-144, 170)
    )
    arm = [(-144 + 2 * i / 40, 170 + 170 * i / 40) for i in range(41)]
    return head + neck + shoulder + arm


LEFT_EDGE = _left_edge()


def place(figure_x: float, scale: float, rows: int) -> Layout:
    """The figure at ``figure_x`` and ``scale``, the head just under the title; the canvas as tall
    as the figure or as ``rows`` names, whichever is taller."""
    top = TITLE_FONT + 6 - scale * FIGURE_TOP
    names = 2 * MARGIN + ASCENT + (rows - 1) * ROW + DESCENT
    return Layout(figure_x, top, scale, max(top + scale * FIGURE_BOTTOM + MARGIN, names))


def labels(at: Layout, targets: Sequence[tuple[str, float, float]]) -> list[Label]:
    """A name per (name, x, y) target in figure units, in the order of the targets' heights,
    spread so none overlap, centred on their targets and inside the canvas."""
    rows = sorted(((name, *at.canvas(x, y)) for name, x, y in targets), key=lambda r: r[2])
    ys = [cy + LIFT for _, _, cy in rows]
    for i in range(1, len(ys)):  # push down where two would overlap ...
        ys[i] = max(ys[i], ys[i - 1] + ROW)
    shift = (sum(cy + LIFT for _, _, cy in rows) - sum(ys)) / max(1, len(ys))
    ys = [y + shift for y in ys]  # ... then move the block back up to centre it ...
    if ys:  # ... and inside the canvas
        ys = [y + max(0.0, ASCENT + MARGIN - ys[0]) for y in ys]
        ys = [y - max(0.0, ys[-1] + DESCENT - at.height) for y in ys]
    return [
        Label(name, MARGIN + text_width(name, LABEL_FONT), y, cx, cy)
        for (name, cx, cy), y in zip(rows, ys, strict=True)
    ]


def _obstacles(at: Layout, titles: Sequence[str]) -> list[tuple[float, float, float]]:
    """(left x, top y, bottom y) in the canvas of what a name must keep clear of."""
    found = [(x, y, y) for x, y in (at.canvas(px, py) for px, py in LEFT_EDGE)]
    wide = 1.1 * max((text_width(t, TITLE_FONT) for t in titles), default=0.0)  # bold
    found.append((at.figure_x - wide / 2, 0.0, TITLE_FONT + 4))
    return found


def fits(at: Layout, views: Sequence[Sequence[tuple[str, float, float]]], titles: Sequence[str]) -> bool:
    """Whether every view's names keep clear of the figure and the title."""
    if at.figure_x - at.scale * FIGURE_HALF < MARGIN:
        return False
    obstacles = _obstacles(at, titles)
    for targets in views:
        for label in labels(at, targets):
            top, bottom = label.y - ASCENT, label.y + DESCENT
            if any(x < label.x + GAP and y0 <= bottom and y1 >= top for x, y0, y1 in obstacles):
                return False
    return True


@lru_cache(maxsize=32)
def layout(views: tuple[tuple[tuple[str, float, float], ...], ...], titles: tuple[str, ...]) -> Layout:
    """The largest figure, against the canvas's right edge, that leaves room for the names:
    ``views`` holds each view's (name, x, y) targets in figure units."""

    def at(scale: float) -> Layout:
        return place(WIDTH - MARGIN - scale * FIGURE_HALF, scale, max(map(len, views), default=0))

    widest = max((text_width(name, LABEL_FONT) for v in views for name, _, _ in v), default=0.0)
    low = max(0.2, (WIDTH - 2 * MARGIN - widest - GAP) / (2 * FIGURE_HALF))  # right of every name
    high = (WIDTH - 2 * MARGIN) / (2 * FIGURE_HALF)
    if fits(at(high), views, titles):
        return at(high)
    for _ in range(14):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(at(middle), views, titles) else (low, middle)
    return at(low)
