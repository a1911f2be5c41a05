"""Forest plot of study effects and the pooled random-effects estimate (matplotlib, Agg backend).

Ratio measures are drawn on a log axis labelled with the ratios themselves, so 1 is no effect.
Square size is proportional to the study's random-effects weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import NullLocator

from bontrack.analytics.effect_sizes import RATIO_MEASURES, EffectSize
from bontrack.analytics.evidence import PooledEffect

Z95 = 1.959963984540054
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 10, 20, 50, 100)
MEASURE_LABELS = {
    "SMD": "Standardized mean difference (Hedges' g)",
    "MD": "Mean difference",
    "RR": "Risk ratio (log scale)",
    "OR": "Odds ratio (log scale)",
    "GEN": "Effect",
}


def forest_plot(
    effects: Sequence[EffectSize], result: PooledEffect, out: Path, *, title: str | None = None
) -> Path:
    """Draw and save a forest plot; returns ``out``.

    Examples
    --------
    >>> import tempfile
    >>> from bontrack.analytics.evidence import pool
    >>> es = [EffectSize("A", -0.2, 0.04), EffectSize("B", 0.1, 0.09)]
    >>> path = forest_plot(es, pool(es), Path(tempfile.mkdtemp()) / "f.png")
    >>> path.stat().st_size > 0
    True
    """
    ratio = result.measure in RATIO_MEASURES

    def shown(value: float) -> float:
        return math.exp(value) if ratio else value

    k = len(effects)
    weights = [1 / (e.vi + result.tau2) for e in effects]
    total = sum(weights)
    fig_height = 1.6 + 0.42 * (k + 2)
    fig = Figure(figsize=(10, fig_height))
    ax = fig.subplots()
    rows = list(range(k + 1, 1, -1))  # first study at the top; the pooled row is 0
    for e, w, y in zip(effects, weights, rows, strict=True):
        low, high = e.yi - Z95 * math.sqrt(e.vi), e.yi + Z95 * math.sqrt(e.vi)
        ax.plot([shown(low), shown(high)], [y, y], color="black", linewidth=1.2)
        ax.plot(shown(e.yi), y, marker="s", color="#1f4e79", markersize=5 + 10 * math.sqrt(w / total))
        ax.text(
            1.02,
            y,
            f"{shown(e.yi):.2f} [{shown(low):.2f}, {shown(high):.2f}]  {100 * w / total:4.1f}%",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=9,
            family="monospace",
        )
    diamond = [
        (shown(result.ci_low), 0),
        (shown(result.estimate), 0.35),
        (shown(result.ci_high), 0),
        (shown(result.estimate), -0.35),
    ]
    ax.add_patch(Polygon(diamond, closed=True, color="#c0392b"))
    ax.text(
        1.02,
        0,
        f"{shown(result.estimate):.2f} [{shown(result.ci_low):.2f}, {shown(result.ci_high):.2f}]  100%",
        transform=ax.get_yaxis_transform(),
        va="center",
        fontsize=9,
        family="monospace",
        fontweight="bold",
    )
    ax.axvline(1.0 if ratio else 0.0, color="grey", linestyle="--", linewidth=0.8)
    if ratio:
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        ticks = [t for t in RATIO_TICKS if low <= t <= high]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
    interval = "HKSJ t" if result.hksj else "z"
    ax.set_yticks([*rows, 0])
    ax.set_yticklabels([e.study for e in effects] + [f"RE model ({result.method}, {interval} CI)"])
    ax.get_yticklabels()[-1].set_fontweight("bold")
    ax.set_ylim(-1, k + 2)
    ax.set_xlabel(MEASURE_LABELS.get(result.measure, result.measure))
    ax.text(1.02, k + 1.75, "Estimate [95% CI]  Weight", transform=ax.get_yaxis_transform(), fontsize=9)
    q_p = "n/a" if result.q_p is None else f"{result.q_p:.3g}"
    summary = (
        f"k = {k}; tau\u00b2 = {result.tau2:.3f}; I\u00b2 = {result.i2:.1f}%; Q = {result.q:.2f} (p = {q_p})"
    )
    ax.set_title((title + "\n" if title else "") + summary, fontsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    fig.tight_layout()
    fig.savefig(out, dpi=150, bbox_inches="tight")
    return out
