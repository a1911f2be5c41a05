"""A decision drawn readably with Rich, for `bontrack check --format text` and `bontrack tour`."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bontrack.clinical.findings import Decision, number, site_name
from bontrack.clinical.report import headline

STYLE = {"allow": "bold green", "warn": "bold yellow", "block": "bold red", "info": "cyan"}


def render(decision: Decision, title: str = "") -> Group:
    """The verdict and its first reason on the first line; then a panel with each finding (most
    severe first) with its advice and source, and the dilution per site."""
    dil = decision.dilution
    head = Text.assemble(
        (decision.decision.upper(), STYLE[decision.decision]), (f": {headline(decision)}", "bold")
    )
    about = Text(f"product {decision.product}   knowledge base {decision.knowledge_version}", style="dim")
    sites = Table(title="Dilution", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("muscle", "side", "units", "mL"):
        sites.add_column(col, justify="right" if col in ("units", "mL") else "left")
    for s in dil.sites:
        sites.add_row(site_name(s.muscle), s.side, number(s.units), number(s.volume_ml))
    sites.add_row("total", "", number(dil.total_units), number(dil.total_volume_ml), style="bold")
    sites.caption = f"{number(dil.units_per_0_1_ml)} U per 0.1 mL; {number(dil.available_units)} U available"
    findings = Table(show_lines=True, expand=True)
    findings.add_column("severity / code", no_wrap=True)
    findings.add_column("finding", ratio=3)
    findings.add_column("source", ratio=2, style="dim", overflow="fold")
    for f in decision.findings:
        body = Text(f.message)
        if f.advice:
            body.append(f"\n→ {f.advice}", style="italic")
        severity = Text(f.severity, STYLE[f.severity]).append(f"\n{f.code}", style="dim")
        findings.add_row(severity, body, f.source)
    panel = Panel(Group(about, findings, sites), title=title or None, title_align="left")
    return Group(head, panel)


def console() -> Console:
    """Rich console; 120 columns when writing to a file or pipe, so sources stay readable."""
    out = Console()
    return out if out.is_terminal else Console(width=120)


def print_decision(decision: Decision, title: str = "", to: Console | None = None) -> None:
    (to or console()).print(render(decision, title))
