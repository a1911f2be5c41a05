"""The report's figures, drawn with matplotlib (Agg) from a ``Report``; each returns PNG bytes.

Every figure has a title, labelled axes with units, and its intervals drawn: a reader should not
need the text to understand it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from PIL import Image

from bontrack.reports.content import Report

BLUE = "#1f4e79"
ORANGE = "#d35400"
GREY = "#7f8c8d"
GREEN = "#1e8449"
PALETTE = [BLUE, ORANGE, GREEN, "#8e44ad", "#c0392b"]
DPI = 130
# zlib level of the PNGs: 3 is as fast as 1 here (the row filters cost the rest) and the files, written
# as RGB, are smaller than matplotlib's RGBA ones at its level 6 (docs/scale.md, session 28)
PNG_LEVEL = 3
# Width of one cycle on the schematic trajectory axis: the last visit plus a gap, in weeks.
CYCLE_SPAN = 16


def _png(fig: Figure) -> bytes:
    """The figure as PNG, cropped as ``bbox_inches="tight"`` crops it, drawn once.

    ``savefig(bbox_inches="tight")`` draws the whole figure (painting switched off) to find where
    its text lands, then draws it again to paint it. Here the same box is measured without that
    first draw (``get_tightbbox`` lays out what it measures: ticks, titles, legends) on a renderer
    at the saving dpi, as savefig measures it, and given to savefig: one draw, the same pixels.
    They are written as RGB when every pixel is opaque (the figures' white face: the alpha channel
    says nothing), else as RGBA, at ``PNG_LEVEL``."""
    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)  # (its methods are not annotated: the two ignores below)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    box = fig.get_tightbbox(renderer).padded(mpl.rcParams["savefig.pad_inches"])
    # painted into the canvas's renderer, at the box's size (the raw bytes written are not used)
    fig.savefig(io.BytesIO(), format="rgba", dpi=DPI, bbox_inches=box)
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    image = Image.fromarray(rgba[..., :3] if (rgba[..., 3] == 255).all() else rgba)
    buf = io.BytesIO()
    image.save(buf, format="png", compress_level=PNG_LEVEL, dpi=(DPI, DPI))
    return buf.getvalue()


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def responders_plot(report: Report) -> bytes | None:
    """Responder rates by visit week, one pair of bars per definition (first cycles solid, all
    cycles hatched), with 95% intervals; rows too small to estimate have no bar."""
    shown = [r for r in report.responders if r.rate is not None and r.low is not None and r.high is not None]
    if not shown:
        return None
    labels = list(dict.fromkeys(r.label for r in report.responders))
    scopes = list(dict.fromkeys(r.scope for r in report.responders))
    weeks = sorted({r.weeks for r in report.responders})
    fig = Figure(figsize=(8.5, 4.4))
    ax = fig.subplots()
    slots = [(label, scope) for label in labels for scope in scopes]
    width = 0.84 / len(slots)
    for i, (label, scope) in enumerate(slots):
        color = PALETTE[labels.index(label) % len(PALETTE)]
        rows = {r.weeks: r for r in shown if r.label == label and r.scope == scope}
        xs = [j + (i - (len(slots) - 1) / 2) * width for j, w in enumerate(weeks) if w in rows]
        rs = [rows[w] for w in weeks if w in rows]
        if not rs:
            continue
        first = scope == scopes[0]
        ax.bar(
            xs,
            [100 * (r.rate or 0) for r in rs],
            width * 0.92,
            color=color if first else "white",
            edgecolor=color,
            hatch=None if first else "///",
            label=f"{label}, {scope}",
        )
        ax.errorbar(
            xs,
            [100 * (r.rate or 0) for r in rs],
            yerr=[
                [100 * ((r.rate or 0) - (r.low or 0)) for r in rs],
                [100 * ((r.high or 0) - (r.rate or 0)) for r in rs],
            ],
            fmt="none",
            ecolor="black",
            capsize=2,
            linewidth=0.8,
        )
        for x, r in zip(xs, rs, strict=True):
            ax.text(x, 100 * (r.high or 0) + 1.5, f"{100 * (r.rate or 0):.0f}", ha="center", fontsize=6)
    ax.set_xticks(range(len(weeks)), [f"week {w}" for w in weeks])
    ax.set_ylabel("cycles responding (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Responders after each injection (95% intervals; all cycles: clustered by patient)")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    _style(ax)
    return _png(fig)


def duration_plot(report: Report) -> bytes | None:
    """Kaplan-Meier curve of the duration of benefit, with its band, censoring marks and median."""
    d = report.duration
    if d is None:
        return None
    fig = Figure(figsize=(8.5, 4.2))
    ax = fig.subplots()
    ax.step(
        d.timeline, [100 * s for s in d.survival], where="post", color=BLUE, linewidth=2, label="benefit kept"
    )
    ax.fill_between(
        d.timeline,
        [100 * s for s in d.ci_low],
        [100 * s for s in d.ci_high],
        step="post",
        color=BLUE,
        alpha=0.18,
        label="95% interval",
    )
    if d.censored_days:
        xs = sorted(set(d.censored_days))
        ys = [100 * _survival_at(d.timeline, d.survival, x) for x in xs]
        ax.plot(xs, ys, "|", color="black", markersize=10, label="still better when last seen")
    if d.median_days is not None and math.isfinite(d.median_days):
        ax.axhline(50, color=GREY, linestyle=":", linewidth=1)
        ax.axvline(d.median_days, color=ORANGE, linestyle="--", linewidth=1.2)
        ax.text(
            d.median_days + 2,
            53,
            f"median {d.median_days:.0f} days",
            color=ORANGE,
            fontsize=9,
        )
    ax.set_xlabel("days after injection")
    ax.set_ylabel("cycles still with benefit (%)")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.set_title(
        f"Duration of benefit (Kaplan-Meier): {d.cycles_with_benefit} cycles with benefit, {d.events} losses"
    )
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    _style(ax)
    return _png(fig)


def _survival_at(timeline: list[float], survival: list[float], x: float) -> float:
    value = 1.0
    for t, s in zip(timeline, survival, strict=True):
        if t <= x:
            value = s
    return value


def trajectories_plot(report: Report) -> bytes | None:
    """Mean score at each visit of cycles 1-4 (mixed model, 95% CI), injections marked."""
    if not report.trajectories:
        return None
    n = len(report.trajectories)
    fig = Figure(figsize=(8.5, 3.3 * n))
    axes = fig.subplots(n, 1, squeeze=False)
    for ax, series, color in zip(axes[:, 0], report.trajectories, PALETTE, strict=False):
        # x: weeks since the first injection on a schematic 12-week cycle
        xs = [(c - 1) * CYCLE_SPAN + w for c, w in zip(series.cycle, series.weeks, strict=True)]
        for c in sorted(set(series.cycle)):
            idx = [i for i, cc in enumerate(series.cycle) if cc == c]
            ax.plot([xs[i] for i in idx], [series.mean[i] for i in idx], "-o", color=color, markersize=4)
            ax.fill_between(
                [xs[i] for i in idx],
                [series.low[i] for i in idx],
                [series.high[i] for i in idx],
                color=color,
                alpha=0.18,
            )
            ax.axvline((c - 1) * CYCLE_SPAN, color=GREY, linestyle="--", linewidth=1)
            ax.annotate(
                f"injection {c}",
                xy=((c - 1) * CYCLE_SPAN, 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12),
                textcoords="offset points",
                fontsize=8,
                color=GREY,
            )
        ax.set_xticks(xs, [f"{w}" for w in series.weeks], fontsize=8)
        ax.set_xlabel("weeks after each injection (cycles side by side)")
        ax.set_ylabel(series.label + "\n(lower is better)", fontsize=9)
        ax.set_title(
            f"{series.label}: mean by visit, mixed model with a random intercept per patient "
            f"({series.n_patients} patients, {series.n_observations} distinct scores)",
            fontsize=9,
        )
        _style(ax)
    # the tight layout applied once, no layout engine left on the figure (savefig would draw it first)
    TightLayoutEngine().execute(fig)
    return _png(fig)


def rand36_plot(report: Report) -> bytes | None:
    """RAND-36 scale means before the first injection and at its last visit, with 95% intervals."""
    rows = [r for r in report.rand36_profile if r.change is not None]  # too few: no point drawn
    if not rows:
        return None
    fig = Figure(figsize=(8.5, 4.2))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    week = report.summary.get("profile_week", "")

    def pts(
        values: list[tuple[float | None, float | None, float | None]],
    ) -> list[tuple[float, float, float]]:
        return [(a or 0.0, b or 0.0, c or 0.0) for a, b, c in values]

    series = (
        (
            -0.12,
            "before the first injection",
            GREY,
            pts([(r.baseline, r.baseline_low, r.baseline_high) for r in rows]),
        ),
        (
            0.12,
            f"{week} weeks after",
            BLUE,
            pts([(r.followup, r.followup_low, r.followup_high) for r in rows]),
        ),
    )
    for offset, name, color, points in series:
        ax.errorbar(
            [p[0] for p in points],
            [y + offset for y in ys],
            xerr=[[p[0] - p[1] for p in points], [p[2] - p[0] for p in points]],
            fmt="o",
            color=color,
            capsize=3,
            label=name,
        )
    ax.set_yticks(ys, [r.label for r in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("RAND-36 scale score (0-100, higher is better)")
    n = max(r.n for r in rows)
    ax.set_title(f"RAND-36 profile, first cycle ({n} patients with both scores)")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def adverse_events_plot(report: Report) -> bytes | None:
    """Adverse events per cycle with Wilson 95% intervals; label rates marked where the label has one."""
    rows = [
        r for r in report.adverse_events if r.rate is not None and r.low is not None and r.high is not None
    ]
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (r.event != "any", -(r.rate or 0)))
    fig = Figure(figsize=(8.5, 0.45 * len(rows) + 1.4))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    ax.errorbar(
        [100 * (r.rate or 0) for r in rows],
        ys,
        xerr=[
            [100 * ((r.rate or 0) - (r.low or 0)) for r in rows],
            [100 * ((r.high or 0) - (r.rate or 0)) for r in rows],
        ],
        fmt="o",
        color=BLUE,
        capsize=3,
        label="this clinic, per session (95% CI)",
    )
    marked = [(y, r.label_percent) for y, r in zip(ys, rows, strict=True) if r.label_percent is not None]
    if marked:
        ax.plot(
            [p for _, p in marked],
            [y for y, _ in marked],
            "D",
            color=ORANGE,
            label="label rate (cervical dystonia trials)",
        )
    ax.set_yticks(ys, [f"{r.event} ({r.cycles}/{r.n_cycles})" for r in rows], fontsize=8)
    ax.set_xlabel("sessions with the event (%)")
    ax.set_xlim(left=0)
    ax.set_title("Adverse events reported after injection")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def evidence_plot(report: Report) -> bytes | None:
    """The clinic's responder proportion beside both arms of the placebo-controlled trials."""
    arms = report.evidence.arms
    if not arms:
        return None
    fig = Figure(figsize=(8.5, 0.5 * len(arms) + 1.6))
    ax = fig.subplots()
    ys = list(range(len(arms)))[::-1]
    for y, a in zip(ys, arms, strict=True):
        color = GREEN if a.source == "This clinic" else (BLUE if a.arm == "BoNT" else GREY)
        if a.low is not None and a.high is not None:
            ax.errorbar(
                [100 * a.rate],
                [y],
                xerr=[[100 * (a.rate - a.low)], [100 * (a.high - a.rate)]],
                fmt="o",
                color=color,
                capsize=3,
            )
        else:
            ax.plot([100 * a.rate], [y], "o", mfc="white", color=color)
    labels = [f"{a.source}: {a.arm}" + (f" (n={a.n})" if a.n else " (arm sizes unverified)") for a in arms]
    ax.set_yticks(ys, labels, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("patients responding (%), 95% Wilson interval")
    ax.set_title("This clinic beside the toxin and saline arms of placebo-controlled trials")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


FIGURES: dict[str, Callable[[Report], bytes | None]] = {
    "responders": responders_plot,
    "duration": duration_plot,
    "trajectories": trajectories_plot,
    "rand36": rand36_plot,
    "adverse_events": adverse_events_plot,
    "evidence": evidence_plot,
}


def render_figures(report: Report) -> dict[str, bytes]:
    """Every figure that has data, by name."""
    out = {}
    for name, draw in FIGURES.items():
        png = draw(report)
        if png is not None:
            out[name] = png
    return out
