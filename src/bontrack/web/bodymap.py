"""The trigger-point body map: neck and shoulders from the back and the front, as inline SVG.

Each muscle of the knowledge base that has a drawn shape is a clickable region per side
(``data-muscle``, ``data-side``), shaded by the units injected in one session, with a red dot
where an examination found a trigger point. Shapes are simple ellipses and polygons, placed
for clarity rather than anatomical precision. Only presentation attributes are used (no
``style``), so the page's Content-Security-Policy needs no 'unsafe-inline'.

The back view shows the patient's left on the viewer's left; the front view the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from bontrack.web.bodymap_layout import (
    BADGE_FONT,
    HEAD,
    LABEL_FONT,
    LIFT,
    MARGIN,
    OUTLINE,
    SIDE_AT,
    SIDE_FONT,
    TITLE_FONT,
    WIDTH,
    Layout,
    labels,
    layout,
    text_width,
)


@dataclass(frozen=True)
class Ellipse:
    cx: float
    cy: float
    rx: float
    ry: float
    degrees: float = 0.0  # clockwise


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]


Shape = Ellipse | Polygon

# Shapes on the viewer's left half, in figure coordinates (x = 0 is the midline, y down);
# the other side is the mirror image. Drawn in this order: broad muscles first.
BACK: dict[str, Shape] = {
    "upper_trapezius": Polygon(
        ((-6, 86), (-22, 92), (-26, 114), (-70, 126), (-118, 140), (-114, 153), (-60, 148), (-6, 142))
    ),
    "middle_trapezius": Polygon(((-6, 150), (-52, 154), (-56, 178), (-6, 186))),
    "infraspinatus": Ellipse(-86, 212, 27, 30, 8),
    "supraspinatus": Ellipse(-84, 163, 30, 7, -12),
    "rhomboid_minor": Ellipse(-30, 193, 22, 6, 16),
    "rhomboid_major": Ellipse(-32, 224, 24, 13, 24),
    "levator_scapulae": Ellipse(-40, 124, 6, 30, 36),
    "splenius_cervicis": Ellipse(-13, 128, 5, 22, -10),
    "longissimus_capitis": Ellipse(-23, 94, 4, 19, 8),
    "splenius_capitis": Ellipse(-14, 94, 5, 21, -6),
    "semispinalis_capitis": Ellipse(-5, 96, 4, 20, 0),
}
FRONT: dict[str, Shape] = {
    "scalene_medius": Ellipse(-40, 116, 5, 22, 28),
    "scalene_anterior": Ellipse(-30, 118, 5, 22, 20),
    "sternocleidomastoid": Ellipse(-16, 108, 6, 36, -20),
}
VIEWS: dict[str, dict[str, Shape]] = {"back": BACK, "front": FRONT}
# which patient side is drawn on the viewer's left
VIEWER_LEFT = {"back": "left", "front": "right"}


@dataclass(frozen=True)
class MuscleMark:
    """What the map shows for one muscle and side."""

    units: float = 0.0
    trigger_point: bool = False


def _mirror_x(x: float, flip: bool) -> float:
    return -x if flip else x


def _centre(shape: Shape) -> tuple[float, float]:
    if isinstance(shape, Polygon):
        xs, ys = zip(*shape.points, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys)
    return shape.cx, shape.cy


def _shape_svg(shape: Shape, flip: bool, fill: str) -> str:
    attrs = f'fill="{fill}" stroke="#7a4a2a" stroke-width="1"'
    if isinstance(shape, Polygon):
        pts = " ".join(f"{_mirror_x(x, flip):g},{y:g}" for x, y in shape.points)
        return f'<polygon points="{pts}" {attrs}/>'
    cx = _mirror_x(shape.cx, flip)
    angle = -shape.degrees if flip else shape.degrees
    return (
        f'<ellipse cx="{cx:g}" cy="{shape.cy:g}" rx="{shape.rx:g}" ry="{shape.ry:g}" '
        f'transform="rotate({angle:g} {cx:g} {shape.cy:g})" {attrs}/>'
    )


def shade(units: float, most: float) -> str:
    """Muscle colour: pale when nothing was injected, deeper blue for more units."""
    if units <= 0 or most <= 0:
        return "#f4dccb"
    t = 0.35 + 0.65 * min(1.0, units / most)
    low, high = (214, 230, 247), (23, 76, 140)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _fmt_units(units: float) -> str:
    return f"{units:g}"


def _title(view: str) -> str:
    return f"{view.capitalize()} view"


def _layout(names: Mapping[str, str]) -> Layout:
    """One layout for both views, so they are drawn at one scale."""
    views = tuple(
        tuple((names[m], *_centre(shape)) for m, shape in shapes.items() if m in names)
        for shapes in VIEWS.values()
    )
    return layout(views, tuple(_title(view) for view in VIEWS))


def _badge(text: str, cx: float, cy: float, size: float) -> str:
    w, h = text_width(text, size) + 0.5 * size, 1.3 * size
    return (
        f'<g class="units" pointer-events="none"><rect x="{cx - w / 2:.1f}" y="{cy - 0.1 * h:.1f}" '
        f'width="{w:.1f}" height="{h:.1f}" rx="{0.25 * size:.1f}" fill="#1d2430" opacity="0.85"/>'
        f'<text x="{cx:.1f}" y="{cy + 0.4 * h + 0.36 * size:.1f}" text-anchor="middle" '
        f'font-size="{size:.1f}" font-weight="700" fill="#fff">{text}</text></g>'
    )


def view_svg(
    view: str,
    names: Mapping[str, str],
    marks: Mapping[tuple[str, str], MuscleMark],
    *,
    caption: str = "",
) -> Markup:
    """One view ('back' or 'front') as an <svg> element; ``names`` maps muscle id to its name."""
    shapes = {m: s for m, s in VIEWS[view].items() if m in names}
    most = max((mark.units for mark in marks.values()), default=0.0)
    at = _layout(names)
    height = at.height + (LABEL_FONT + 4 if caption else 0)
    left_side = VIEWER_LEFT[view]
    right_side = "right" if left_side == "left" else "left"
    title = _title(view)
    parts = [
        f'<svg class="bodymap" viewBox="0 0 {WIDTH} {height:.1f}" role="group" '
        f'aria-label="{escape(title)}: muscles by side" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{at.figure_x:.1f}" y="{TITLE_FONT:g}" text-anchor="middle" font-size="{TITLE_FONT:g}" '
        f'font-weight="600" fill="#1d2430">{escape(title)}</text>',
        f'<g transform="translate({at.figure_x:.1f} {at.top:.1f}) scale({at.scale:.4f})">',
        f'<path class="outline" d="{OUTLINE}" fill="#eef1f5" stroke="#9aa5b1" stroke-width="1.5"/>',
        f'<ellipse class="outline" cx="{HEAD[0]}" cy="{HEAD[1]}" rx="{HEAD[2]}" ry="{HEAD[3]}" '
        'fill="#eef1f5" stroke="#9aa5b1" stroke-width="1.5"/>',
        '<line x1="-108" y1="200" x2="-106" y2="340" stroke="#9aa5b1"/>',
        '<line x1="108" y1="200" x2="106" y2="340" stroke="#9aa5b1"/>',
    ]
    if view == "back":
        parts.append('<line x1="0" y1="88" x2="0" y2="340" stroke="#9aa5b1" stroke-dasharray="3 4"/>')
    else:
        parts += [
            '<path d="M -8 140 Q -60 132 -112 140" fill="none" stroke="#9aa5b1" stroke-width="2"/>',
            '<path d="M 8 140 Q 60 132 112 140" fill="none" stroke="#9aa5b1" stroke-width="2"/>',
            '<path d="M -12 70 Q 0 80 12 70" fill="none" stroke="#9aa5b1"/>',
        ]
    letter = f'font-size="{SIDE_FONT / at.scale:.1f}" font-weight="700" fill="#5b6573"'
    parts += [  # low in the torso, where no leader line goes
        f'<text x="{SIDE_AT[0]}" y="{SIDE_AT[1]}" {letter}>{left_side[0].upper()}</text>',
        f'<text x="{-SIDE_AT[0]}" y="{SIDE_AT[1]}" text-anchor="end" {letter}>{right_side[0].upper()}</text>',
    ]
    badges = []
    placed: list[tuple[float, float, float]] = []
    size = BADGE_FONT / at.scale  # the badges are drawn in figure units
    dot = 5.5 / at.scale
    for muscle, shape in shapes.items():
        for side, flip in ((left_side, False), (right_side, True)):
            mark = marks.get((muscle, side), MuscleMark())
            label = f"{names[muscle]}, {side}"
            detail = []
            if mark.units > 0:
                detail.append(f"{_fmt_units(mark.units)} U")
            if mark.trigger_point:
                detail.append("trigger point")
            tip = label + (": " + ", ".join(detail) if detail else "")
            parts.append(
                f'<g class="muscle" data-muscle="{escape(muscle)}" data-side="{escape(side)}" '
                f'data-units="{_fmt_units(mark.units)}" '
                f'data-trigger-point="{str(mark.trigger_point).lower()}" '
                f'tabindex="0" role="button" aria-label="{escape(tip)}"><title>{escape(tip)}</title>'
                + _shape_svg(shape, flip, shade(mark.units, most))
                + "</g>"
            )
            cx, cy = _centre(shape)
            cx = _mirror_x(cx, flip)
            if mark.trigger_point:
                badges.append(
                    f'<circle class="trigger-point" cx="{cx + dot:.1f}" cy="{cy - 2 * dot:.1f}" '
                    f'r="{dot:.1f}" fill="#c62828" stroke="#fff" stroke-width="1.2" pointer-events="none"/>'
                )
            if mark.units > 0:
                text = _fmt_units(mark.units)
                w, h = text_width(text, size) + 0.5 * size, 1.3 * size
                step = -(h + 1)  # above a badge already placed (not on top of it), else below
                start = cy
                while any(abs(cx - bx) < (w + bw) / 2 and abs(cy - by) < h + 1 for bx, by, bw in placed):
                    cy += step
                    if cy < start - 2 * h:
                        cy, step = start + h + 1, h + 1
                placed.append((cx, cy, w))
                badges.append(_badge(text, cx, cy, size))
    parts += badges
    parts.append("</g>")
    for row in labels(at, [(names[m], *_centre(shape)) for m, shape in shapes.items()]):
        parts.append(
            f'<line x1="{row.x + 3:.1f}" y1="{row.y - LIFT:.1f}" x2="{row.target_x:.1f}" '
            f'y2="{row.target_y:.1f}" stroke="#8792a2" stroke-width="0.8"/>'
            f'<text class="label" x="{MARGIN:g}" y="{row.y:.1f}" font-size="{LABEL_FONT:g}" '
            f'fill="#1d2430">{escape(row.name)}</text>'
        )
    if caption:
        parts.append(
            f'<text x="{WIDTH / 2:g}" y="{height - MARGIN:.1f}" text-anchor="middle" '
            f'font-size="{LABEL_FONT:g}" fill="#5b6573">{escape(caption)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def drawn_muscles() -> set[str]:
    """Muscle ids with a shape on one of the views."""
    return {m for shapes in VIEWS.values() for m in shapes}


def body_map(names: Mapping[str, str], marks: Mapping[tuple[str, str], MuscleMark]) -> list[Markup]:
    """Both views, back first."""
    return [view_svg(view, names, marks) for view in VIEWS]
