"""The body map's drawing, read as SVG: every text on it readable on the narrowest map (a phone),
a name per muscle, and each injected muscle or trigger point marked by more than its colour.
How it renders in a browser (sizes, overlaps) is tests/web/test_bodymap_browser.py."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from bontrack.knowledge.loader import load_knowledge
from bontrack.web.bodymap import VIEWS, MuscleMark, _centre, body_map, drawn_muscles
from bontrack.web.bodymap_layout import FIGURE_HALF, LABEL_FONT, MARGIN, WIDTH, fits, labels, layout

SVG = "{http://www.w3.org/2000/svg}"
NARROWEST = 300  # px: a map is never narrower (the grid's minmax in style.css, checked below)
STYLE = Path(__file__).parents[2] / "src" / "bontrack" / "web" / "static" / "style.css"


def _names() -> dict[str, str]:
    kb = load_knowledge()
    return {m: kb.files.muscles[m].name for m in kb.files.muscles if m in drawn_muscles()}


def _texts(element: ET.Element, scale: float = 1.0) -> list[tuple[str, float]]:
    """(text, font size in canvas units) for each <text>, through the groups' scale()."""
    found = re.search(r"scale\(([\d.]+)\)", element.get("transform", ""))
    scale *= float(found.group(1)) if found else 1.0
    if element.tag == f"{SVG}text":
        return [("".join(element.itertext()), float(element.get("font-size", "0")) * scale)]
    return [t for child in element for t in _texts(child, scale)]


def test_the_narrowest_map_is_300_px() -> None:
    css = STYLE.read_text()
    assert re.search(r"\.bodymaps \{[^}]*minmax\(300px, 1fr\)", css)
    assert re.search(r"\.bodymaps svg \{[^}]*width: 100%", css)


def test_every_text_reads_at_least_11_px_on_the_narrowest_map() -> None:
    names = _names()
    marks = {(m, side): MuscleMark(units=40, trigger_point=True) for m in names for side in ("left", "right")}
    for svg in body_map(names, marks):
        root = ET.fromstring(str(svg))
        assert root.get("viewBox", "").startswith(f"0 0 {WIDTH} ")
        texts = _texts(root)
        assert len(texts) > 10
        small = {
            text: round(size * NARROWEST / WIDTH, 1) for text, size in texts if size * NARROWEST / WIDTH < 11
        }
        assert not small, f"px on a {NARROWEST} px map: {small}"


def test_a_name_per_muscle_and_marks_beside_the_colour() -> None:
    names = _names()
    marks = {
        ("upper_trapezius", "left"): MuscleMark(units=40),
        ("levator_scapulae", "right"): MuscleMark(20, True),
    }
    back, front = (ET.fromstring(str(svg)) for svg in body_map(names, marks))
    for root, view in ((back, "back"), (front, "front")):
        shown = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
        assert sorted(shown) == sorted(names[m] for m in VIEWS[view])
        assert root.get("aria-label") == f"{view.capitalize()} view: muscles by side"
        for muscle in root.iter(f"{SVG}g"):
            if muscle.get("class") == "muscle":
                assert muscle.get("role") == "button" and muscle.get("aria-label")
                assert muscle.find(f"{SVG}title") is not None
    units = [g for g in back.iter(f"{SVG}g") if g.get("class") == "units"]
    assert sorted("".join(g.itertext()) for g in units) == ["20", "40"]  # a number on the muscle
    dots = [c for c in back.iter(f"{SVG}circle") if c.get("class") == "trigger-point"]
    assert len(dots) == 1  # a dot on it
    assert not [g for g in front.iter(f"{SVG}g") if g.get("class") == "units"]


def test_longer_names_shrink_the_figure_and_still_keep_clear_of_it() -> None:
    names = _names()
    views = [[(names[m], *_centre(shape)) for m, shape in VIEWS[view].items()] for view in VIEWS]
    titles = ("Back view", "Front view")
    usual = layout(tuple(map(tuple, views)), titles)
    longer = [[(f"{name} (pars profunda)", x, y) for name, x, y in v] for v in views]
    at = layout(tuple(map(tuple, longer)), titles)
    assert at.scale < usual.scale
    assert fits(at, longer, titles) and fits(usual, views, titles)
    assert at.figure_x - at.scale * FIGURE_HALF >= MARGIN
    for targets in longer:
        rows = labels(at, targets)
        assert all(b.y - a.y >= 1.3 * LABEL_FONT - 1e-9 for a, b in itertools.pairwise(rows))
        assert all(LABEL_FONT <= row.y <= at.height for row in rows)
