"""`bontrack evidence`: pool published trials, list the curated BoNT trials, draw a forest plot.

Only typer and the standard library load with this module; numpy, scipy and matplotlib are
imported inside the commands so other commands start fast. Every input error goes to stderr
with exit code 2, naming the line and column, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bontrack.cli.common import fail, fail_option
from bontrack.cli.help_layout import App

if TYPE_CHECKING:
    from bontrack.analytics.evidence import PooledEffect
    from bontrack.analytics.evidence_csv import StudyTable

evidence_app = App(
    help="Published randomized trials of BoNT against placebo: pooling and forest plots.",
    no_args_is_help=True,
)

CSV_HELP = (
    "CSV with a study column and the columns yi, vi; or events_treat, n_treat, events_ctrl, n_ctrl; "
    "or mean_treat, sd_treat, n_treat, mean_ctrl, sd_ctrl, n_ctrl. '-' reads standard input."
)
MEASURE_HELP = "SMD or MD for means (default SMD), RR or OR for events (default RR); labels yi,vi."
METHOD_HELP = "tau^2 estimator: REML (default, as metafor) or DL (DerSimonian-Laird)."
HKSJ_HELP = "Hartung-Knapp-Sidik-Jonkman standard error with a t(k-1) interval."


def _read_table(path: Path, measure: str | None) -> StudyTable:
    from bontrack.analytics.evidence_csv import EvidenceInputError, read_studies

    stdin = str(path) == "-"
    name = "standard input" if stdin else str(path)
    try:
        text = sys.stdin.read() if stdin else path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{name} is not UTF-8 text")
    except OSError as exc:
        fail(f"cannot read {name}: {exc.strerror or exc}")
    try:
        return read_studies(text, measure)
    except EvidenceInputError as exc:
        fail(f"{name}: {exc}")


def _pool(table: StudyTable, method: str, hksj: bool) -> PooledEffect:
    from bontrack.analytics.evidence import METHODS, PoolingError, pool

    chosen = method.upper()
    if chosen not in METHODS:
        fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    try:
        return pool(table.effects, method=chosen, hksj=hksj, measure=table.measure)
    except PoolingError as exc:
        fail(str(exc))


@evidence_app.command("pool")
def pool_command(
    csv_path: Path = typer.Option(..., "--csv", metavar="FILE", help=CSV_HELP),
    measure: str | None = typer.Option(None, "--measure", help=MEASURE_HELP),
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    hksj: bool = typer.Option(False, "--hksj", help=HKSJ_HELP),
) -> None:
    """Random-effects meta-analysis; prints JSON (ratio measures on the log scale, exp_* beside them).

    One study is allowed and reported as itself (tau2 = 0, i2 = 0, q = 0, q_p = null); --hksj
    needs at least two.
    """
    table = _read_table(csv_path, measure)
    result = _pool(table, method, hksj)
    typer.echo(json.dumps(result.to_dict(), indent=2))


@evidence_app.command("trials")
def trials_command(
    outcome: str = typer.Option("pain_4wk", "--outcome", help="Which outcome's rows to print."),
    include_unverified: bool = typer.Option(
        False, "--include-unverified", help="Also print rows whose numbers were not verified at the source."
    ),
) -> None:
    """Print the curated BoNT-vs-placebo trials as CSV (pipe into `pool --csv -`)."""
    from bontrack.analytics.trials import TrialDataError, load_trials, trials_csv

    try:
        trials = load_trials()
        typer.echo(trials_csv(trials, outcome=outcome, include_unverified=include_unverified), nl=False)
    except TrialDataError as exc:
        fail(str(exc))


@evidence_app.command("forest")
def forest_command(
    csv_path: Path = typer.Option(..., "--csv", metavar="FILE", help=CSV_HELP),
    out: Path = typer.Option(
        ..., "--out", metavar="FILE.png", help="Where to write the plot (PNG, SVG, PDF)."
    ),
    measure: str | None = typer.Option(None, "--measure", help=MEASURE_HELP),
    method: str = typer.Option("REML", "--method", help=METHOD_HELP),
    hksj: bool = typer.Option(False, "--hksj", help=HKSJ_HELP),
    title: str | None = typer.Option(None, "--title", help="Title above the plot."),
) -> None:
    """Forest plot: each study's effect and 95% CI, and the pooled random-effects diamond."""
    from bontrack.analytics.forest import forest_plot

    if out.is_dir():
        fail_option("--out", f"{out} is a folder; give a file name such as forest.png")
    if not out.parent.is_dir():
        fail_option("--out", f"folder {out.parent} does not exist")
    written = out if out.suffix else out.with_name(out.name + ".png")  # (as matplotlib would name it)
    table = _read_table(csv_path, measure)
    result = _pool(table, method, hksj)
    try:
        forest_plot(table.effects, result, written, title=title)
    except OSError as exc:
        fail_option("--out", f"cannot write {written}: {exc.strerror or exc}")
    except ValueError as exc:
        fail_option("--out", f"cannot write {written}: {exc}")
    typer.echo(str(written))


@evidence_app.command("summary")
def summary_command(
    outcome: str | None = typer.Option(None, "--outcome", help="One outcome (default: every outcome)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """The curated evidence: verified trials pooled, the rest on record and why.

    Verified trials are pooled with REML + HKSJ; the published pooled estimates are shown beside
    them."""
    from bontrack.analytics.trials import TrialDataError, load_trials, summarize, summarize_all

    try:
        trials = load_trials()
        summaries = [summarize(trials, outcome)] if outcome else summarize_all(trials)
    except TrialDataError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([s.to_dict() for s in summaries], indent=2, ensure_ascii=False))
        return
    for s in summaries:
        typer.echo(f"{s.title} [{s.outcome}]")
        typer.echo(f"  verified trials: k = {s.k}" + (f" ({', '.join(s.labelled())})" if s.studies else ""))
        typer.echo(f"  method: {s.method}")
        if s.result is not None:
            typer.echo(f"  toxin vs saline: {s.shown()}, tau^2 = {s.result.tau2:.3f}")
        for p in s.published:
            typer.echo(f"  beside it, {p.what}: {p.shown()} [{p.url}]")
        for n in s.not_pooled:
            typer.echo(f"  not pooled, {n.study}: {n.status}: {n.reason} [{n.url}]")
        typer.echo("")
