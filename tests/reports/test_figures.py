"""The report's figures (reports.plots) are drawn once each, and show the pixels that
``savefig(bbox_inches="tight")`` showed: the box it crops to is measured without its first,
unpainted draw."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bontrack.knowledge.loader import load_knowledge
from bontrack.reports import plots
from bontrack.reports.content import Report, build_report
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import make_engine, transaction
from demo_exports import bontrack


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A demo clinic's report: every figure has data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('figures') / 'clinic.db'}"
    assert bontrack("--db", url, "demo", "--patients", "160", "--seed", "28").exit_code == 0
    engine = make_engine(url)
    with transaction(engine) as db:
        frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, every_score=False)
    engine.dispose()
    try:
        return build_report(frames, load_knowledge(), today=dt.date(2026, 8, 31))
    finally:
        if frames.cycle_rows is not None:
            frames.cycle_rows.close()


def test_figures__each_figure_is_drawn_once(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: ``bbox_inches="tight"`` drew each figure twice (once unpainted, to measure it), and
    the trajectories' tight layout, left on the figure, asked for that first draw too: 12 draws."""
    drawn: list[Figure] = []
    draw = Figure.draw

    def counted(fig: Figure, renderer: Any) -> None:
        drawn.append(fig)
        draw(fig, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    figures = plots.render_figures(report)
    assert sorted(figures) == sorted(plots.FIGURES)  # all six have data
    assert len(drawn) == len(figures) and len(set(map(id, drawn))) == len(figures)


def _tight(fig: Figure) -> bytes:
    """The figure as the report saved it before (matplotlib's own tight crop, RGBA)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=plots.DPI, bbox_inches="tight")
    return buf.getvalue()


def _pixels(png: bytes) -> np.ndarray[Any, Any]:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def test_figures__the_pixels_of_a_tight_savefig(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same size, same pixels as ``savefig(bbox_inches="tight")`` (nothing cropped off: the legend
    below the responders' axes, titles, tick labels), written as RGB (every pixel is opaque)."""
    figures = plots.render_figures(report)
    monkeypatch.setattr(plots, "_png", _tight)
    before = plots.render_figures(report)
    assert sorted(figures) == sorted(before)
    for name, png in figures.items():
        with Image.open(io.BytesIO(png)) as image:
            assert image.mode == "RGB", name
        assert np.array_equal(_pixels(png), _pixels(before[name])), name
        with Image.open(io.BytesIO(before[name])) as image:
            assert np.all(np.asarray(image)[..., 3] == 255), name  # the alpha dropped said nothing


def test_figures__a_transparent_pixel_keeps_its_alpha() -> None:
    fig = Figure(figsize=(2, 1))
    fig.patch.set_alpha(0)
    fig.subplots().set_title("t")
    with Image.open(io.BytesIO(plots._png(fig))) as image:
        assert image.mode == "RGBA" and np.asarray(image)[..., 3].min() == 0
