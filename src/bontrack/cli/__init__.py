"""The `bontrack` command: one module per command group; faces parse, call and print.

Heavy modules (pydantic, SQLAlchemy, Rich, numpy) load inside the commands, so `bontrack check`
and `bontrack --help` start fast. Shared options, exit codes and formats: `bontrack.cli.common`.
"""

# ruff: noqa: E402 (the collector is paced before the commands' modules are imported)

from __future__ import annotations

import gc
import sys

# The cyclic garbage collector looks at young objects every 700 allocations by default; a command's
# start creates some 250,000 objects that live as long as it does (modules, schemas, the knowledge
# base), and each look at them bought nothing: every 50,000 allocations instead, the report's
# imports cost 1.38 s of CPU against 1.52 (docs/scale.md, session 17). Cyclic garbage is still
# collected, a little later.
COMMAND_GC_THRESHOLDS = (50_000, 20, 20)
gc.set_threshold(*COMMAND_GC_THRESHOLDS)

import typer

from bontrack.cli import audit, backup, check, data, demo, plan, report, serve, stock, users
from bontrack.cli.common import GlobalOptions
from bontrack.cli.evidence import evidence_app
from bontrack.cli.help_layout import App
from bontrack.cli.score import score_app
from bontrack.fhir.cli import fhir_app

app = App(
    name="bontrack",
    help="Botulinum toxin + physical therapy pathway for chronic myofascial neck pain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        metavar="URL",
        help="Registry database: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB (default: "
        "sqlite:///bontrack.db, a file in the current folder). Also read from BONTRACK_DATABASE_URL.",
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who is recorded in the audit log (default: BONTRACK_ACTOR, else cli:<login>)."
    ),
    read_db: str | None = typer.Option(
        None,
        "--read-db",
        metavar="URL",
        help="A read replica (PostgreSQL standby of --db) for reports, exports and research reads; "
        "writes and audit entries go to --db. Also read from BONTRACK_READ_DATABASE_URL.",
    ),
) -> None:
    """bontrack: safety checks, registry and outcomes for BoNT neck-pain clinics."""
    ctx.obj = GlobalOptions(database_url=db, actor=actor, read_database_url=read_db)


app.command("check")(check.check_command)
app.command("tour")(check.tour_command)
app.command("plan-dose")(plan.plan_dose_command)
app.command("code")(plan.code_command)
app.add_typer(data.db_app, name="db")
app.command("due")(data.due)
app.command("export")(data.export)
app.command("import")(data.import_)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(score_app, name="score")
app.add_typer(evidence_app, name="evidence")
app.command("demo")(demo.demo_command)
app.command("summary")(demo.summary_command)
app.command("report")(report.report)
app.add_typer(users.user_app, name="user")
app.command("audit")(audit.audit_command)
app.add_typer(fhir_app, name="fhir")
app.command("serve")(serve.serve)
app.add_typer(stock.stock_app, name="stock")
app.command("recall")(stock.recall_command)


def main() -> None:
    try:
        app()
    finally:
        leave()


def leave() -> None:
    """A command's databases closed, then its heap frozen for the exit. At exit Python walks
    every object left for cycles before freeing it (0.45 s of the 100,000-patient report's 7 s:
    docs/scale.md, session 23); the one thing in that heap whose release matters is the
    databases' connections (SQLite's last close folds its write-ahead log into the file), so they
    are closed here first. Objects still freed by their reference counts, atexit's work (temporary
    folders among it), the threads' joins and the standard streams' flushes are as before."""
    engines = sys.modules.get("bontrack.storage.engine")  # a command that opened none did not import it
    if engines is not None:
        engines.dispose_all()
    gc.freeze()
