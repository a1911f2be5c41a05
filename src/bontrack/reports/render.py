"""The clinic report as HTML (self-contained: figures inline), PDF (WeasyPrint) or JSON."""

from __future__ import annotations

import base64
import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

from bontrack.reports.content import Report
from bontrack.reports.plain import indented

if TYPE_CHECKING:
    from jinja2 import Template


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _days(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "not reached"
    return f"{value:.0f} days"


def _rate(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.0f}"


def _num(x: float | None, spec: str = ".2f") -> str:
    """A number as text; a missing one (None, nan, inf) as a dash, never 'nan'."""
    return "-" if x is None or not math.isfinite(x) else format(x, spec)


def headline(report: Report) -> str:
    """One paragraph a clinic director reads first."""
    week = report.summary.get("main_week", 6)
    main = [
        r
        for r in report.responders
        if r.weeks == week and r.label.startswith("Pain (NPRS)") and r.scope == "first cycles"
    ]
    treated, sessions = report.summary["patients_treated"], report.summary["sessions"]
    parts = [
        f"As of {report.generated_on}, {_count(treated, 'patient')} had "
        f"{_count(sessions, 'injection session')}."
    ]
    if main:
        r = main[0]
        threshold = report.summary["moderate_percent"]
        if r.rate is not None and r.low is not None and r.high is not None:
            parts.append(
                f"At week {week} of their first cycle, {100 * r.rate:.0f}% of patients "
                f"(95% CI {100 * r.low:.0f}-{100 * r.high:.0f}%, n = {r.n}) had pain at least "
                f"{threshold:g}% lower than before the injection."
            )
        else:
            parts.append(
                f"At week {week} of their first cycle, {r.responders} of {r.n} patients had pain at least "
                f"{threshold:g}% lower than before the injection (too few to estimate a rate)."
            )
    d = report.duration
    if d is not None:
        if d.median_days is None or not math.isfinite(d.median_days):
            last = max(d.timeline, default=0.0)
            followed = f", {last:.0f} days after the injection" if last > 0 else ""
            parts.append(
                "Benefit, when it came, had not worn off in half of the cycles by the last visits"
                f"{followed} (median not reached)."
            )
        else:
            parts.append(f"Benefit, when it came, lasted a median of {_days(d.median_days)}.")
    parts.append(
        "Placebo-controlled trials found saline injections helped nearly as much as toxin; section 7 sets "
        "this clinic's results beside them."
    )
    return " ".join(parts)


@functools.cache
def report_template() -> Template:
    """The report's template, read once: a server keeps the template it started with, as it keeps
    its code (a package upgraded under a running server does not pair new pages with old code)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape  # (not for JSON)

    env = Environment(
        loader=PackageLoader("bontrack.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        auto_reload=False,
    )
    return env.get_template("report.html.j2")


def render_html(report: Report, figures: dict[str, bytes]) -> str:
    template = report_template()
    fig = {name: "data:image/png;base64," + base64.b64encode(png).decode() for name, png in figures.items()}
    for name in ("responders", "duration", "trajectories", "rand36", "adverse_events", "evidence"):
        fig.setdefault(name, "")
    return template.render(
        r=report,
        s=report.summary,
        fig=fig,
        headline=headline(report),
        pct=_pct,
        days=_days,
        rate=_rate,
        num=_num,
        thresholds=f"{report.summary.get('moderate_percent', 0):g}%",
        review_cycles=report.summary.get("review_cycles", ""),
        review_percent=f"{report.summary.get('review_percent', 0):g}%",
    )


def write_pdf(html: str, out: Path) -> Path:
    """Lay the HTML out on A4 pages with WeasyPrint."""
    from weasyprint import HTML

    HTML(string=html).write_pdf(out)
    return out


def report_json(report: Report) -> str:
    """``json.dumps(report.to_dict(), indent=2, ensure_ascii=False)`` and a newline, the same
    bytes written faster (``reports.plain.indented``)."""
    return indented(report.to_dict()) + "\n"
