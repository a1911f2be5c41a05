"""The `bontrack` command. Faces hold no clinical logic: they parse, call, and print.

Imports of heavy modules stay inside the commands, so `bontrack check` starts fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bontrack.analytics.cli import evidence_app
from bontrack.clinical.cli import check_command, tour_command
from bontrack.instruments.cli import score_app
from bontrack.planning.cli import code_command, plan_dose_command

app = typer.Typer(
    name="bontrack",
    help="Botulinum toxin + physical therapy pathway for chronic myofascial neck pain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("check")(check_command)
app.command("tour")(tour_command)
app.command("plan-dose")(plan_dose_command)
app.command("code")(code_command)


@app.callback()
def _root(
    db: str | None = typer.Option(
        None,
        "--db",
        metavar="URL",
        help="Registry database: sqlite:///PATH (default: sqlite:///bontrack.db, a file in the current "
        "folder) or postgresql+psycopg://USER@HOST/DB. Also read from BONTRACK_DATABASE_URL.",
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who is recorded in the audit log (default: BONTRACK_ACTOR, else cli:<login>)."
    ),
) -> None:
    """bontrack: safety checks, registry and outcomes for BoNT neck-pain clinics."""
    from bontrack.config import settings

    settings.database_url = db
    settings.actor = actor


# ---- registry (storage); imports stay inside the commands so `check` starts fast ----------------
db_app = typer.Typer(help="Registry database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the registry schema, or bring it up to this version (run `bontrack backup` first)."""
    from bontrack.registry_cli import db_upgrade as run

    run()


@app.command("due")
def due(
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="The day to plan for (default: today)."
    ),
    days: int = typer.Option(14, "--days", help="Also list what falls due within this many days."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id."),
) -> None:
    """The worklist: outcome visits, re-injection dates, physical-therapy visits; overdue first."""
    from bontrack.registry_cli import due as run

    run(date_text=date, days=days, fmt=fmt, clinic=clinic)


@app.command("export")
def export(
    target: str = typer.Argument(..., metavar="FILE|DIR", help="FILE.jsonl, or a folder with --format csv."),
    fmt: str = typer.Option(
        "jsonl", "--format", help="jsonl (every record and version) or csv (+ dictionary)."
    ),
) -> None:
    """Export the registry: JSON Lines for exchange (not a backup: see `bontrack backup`), or CSV."""
    from bontrack.registry_cli import export as run

    run(target=target, fmt=fmt)


@app.command("import")
def import_(source: str = typer.Argument(..., metavar="FILE.jsonl")) -> None:
    """Import a JSON Lines export, all or nothing; records already present are skipped."""
    from bontrack.registry_cli import import_ as run

    run(source=source)


_TARGET_DB_HELP = "The registry (default: the global --db, BONTRACK_DATABASE_URL, sqlite:///bontrack.db)."
_PG_BIN_HELP = "Folder of pg_dump and pg_restore (default: newest /usr/lib/postgresql/*/bin, else PATH)."


@app.command("backup")
def backup(
    target: str = typer.Argument(..., metavar="FILE", help="The backup file to write."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=_TARGET_DB_HELP),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
    pg_bin: str | None = typer.Option(None, "--pg-bin", metavar="DIR", help=_PG_BIN_HELP),
) -> None:
    """Copy the whole registry (records, versions, audit log, users, keys) while it is in use."""
    from bontrack.registry_cli import backup as run

    run(target=target, db=db, force=force, pg_bin=pg_bin)


@app.command("restore")
def restore(
    source: str = typer.Argument(..., metavar="FILE", help="A file made by `bontrack backup`."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=_TARGET_DB_HELP),
    force: bool = typer.Option(
        False, "--force", help="Replace a registry that holds data (refused without it)."
    ),
    pg_bin: str | None = typer.Option(None, "--pg-bin", metavar="DIR", help=_PG_BIN_HELP),
) -> None:
    """Bring back a whole registry from a backup: into a new or empty database, or --force."""
    from bontrack.registry_cli import restore as run

    run(source=source, db=db, force=force, pg_bin=pg_bin)


app.add_typer(score_app, name="score")
app.add_typer(evidence_app, name="evidence")


# ---- synthetic clinic ---------------------------------------------------------------------------
@app.command("demo")
def demo(
    patients: int = typer.Option(200, "--patients", help="How many synthetic patients (1 to 1,000,000)."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed builds the same clinic."),
    force: bool = typer.Option(
        False, "--force", help="Add a further demo clinic to a registry that already has patients."
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Build only when the registry has no patients; then print the summary."
    ),
) -> None:
    """Build a synthetic clinic (fictional patients) through the services, in one transaction."""
    from bontrack.synth import cli as synth_cli

    if if_empty:
        synth_cli.run_demo_if_empty(patients=patients, seed=seed, force=force)
    else:
        synth_cli.demo(patients=patients, seed=seed, force=force)


@app.command("summary")
def summary(
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="Worklist day (default: the demo clinic's as-of date)."
    ),
    head: int = typer.Option(15, "--head", help="How many worklist rows to show."),
) -> None:
    """Patients, sessions by decision, overrides, adverse events, and the head of the worklist."""
    from bontrack.synth.cli import summary as run

    run(date_text=date, head=head)


@app.command("report")
def report(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="File to write (default report.html, report.pdf with --pdf, report.json with --json).",
    ),
    pdf: bool = typer.Option(False, "--pdf", help="Write a PDF (A4) instead of HTML."),
    as_json: bool = typer.Option(False, "--json", help="Write every number of the report as JSON."),
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="Report date (default: today)."
    ),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id (default: every clinic)."),
) -> None:
    """The clinic report: responders, duration of benefit, trajectories, RAND-36, side effects, evidence."""
    from bontrack.reports.cli import report as run

    run(out=out, pdf=pdf, as_json=as_json, date_text=date, clinic_id=clinic)


# ---- users and the web server ------------------------------------------------------------------
user_app = typer.Typer(help="Users of the web app and API.", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    email: str = typer.Option(..., "--email", help="Log-in e-mail."),
    role: str = typer.Option(
        ..., "--role", help="physician, physical_therapist, staff, researcher or admin."
    ),
    clinic: str | None = typer.Option(
        None, "--clinic", metavar="ID", help="The clinic the user works at (default: every clinic)."
    ),
    clinician: str | None = typer.Option(
        None,
        "--clinician",
        metavar="ID",
        help="The user's own clinician record at that clinic (a physician needs one to override a block).",
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Add a user; the password is asked for twice (or read from stdin)."""
    from bontrack.auth.cli import add_user

    add_user(email=email, role=role, clinic=clinic, clinician=clinician, password_stdin=password_stdin)


@user_app.command("link")
def user_link(
    email: str = typer.Argument(..., help="The user's log-in e-mail."),
    clinician: str = typer.Option(..., "--clinician", metavar="ID", help="The user's own clinician record."),
) -> None:
    """Link an account to the person's clinician record (a physician overrides a block as themself)."""
    from bontrack.auth.cli import link_user

    link_user(email=email, clinician=clinician)


@user_app.command("list")
def user_list() -> None:
    """Every user: e-mail, role, clinic, state."""
    from bontrack.auth.cli import list_users

    list_users()


USER_ARG = typer.Argument(
    ..., metavar="USER", help="The user's e-mail (or id, as `bontrack user list` shows)."
)


@user_app.command("deactivate")
def user_deactivate(user: str = USER_ARG) -> None:
    """Close an account: no more log-ins, every session and API token ends now (records stay)."""
    from bontrack.auth.cli import change_state

    change_state(user=user, what="deactivate")


@user_app.command("reactivate")
def user_reactivate(user: str = USER_ARG) -> None:
    """Open a closed account again (same password)."""
    from bontrack.auth.cli import change_state

    change_state(user=user, what="reactivate")


@user_app.command("set-password")
def user_set_password(
    user: str = USER_ARG,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of standard input."
    ),
) -> None:
    """Set a new password (asked twice, or read from stdin); every session and token of the user ends."""
    from bontrack.auth.cli import set_password

    set_password(user=user, password_stdin=password_stdin)


@user_app.command("end-sessions")
def user_end_sessions(user: str = USER_ARG) -> None:
    """End every browser session and API token of the user (they must log in again)."""
    from bontrack.auth.cli import change_state

    change_state(user=user, what="end-sessions")


@user_app.command("demo-logins")
def user_demo_logins() -> None:
    """Create one demo user per role (fixed, printed passwords) unless they exist, and print them."""
    from bontrack.auth.cli import demo_logins

    demo_logins()


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark cookies Secure (needs HTTPS, e.g. behind a TLS proxy)."
    ),
    public_url: str | None = typer.Option(
        None, "--public-url", metavar="URL", help="How patients' links begin (default: the request's URL)."
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes (default: 1 on SQLite, which has one writer; one per CPU, at most 4, "
        "on PostgreSQL). Sessions, tokens and the log-in throttle live in the registry, so every "
        "worker sees the same.",
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="Addresses or networks (comma-separated) of reverse proxies whose X-Forwarded-For is "
        "believed (default: none; the client is whoever connects).",
    ),
) -> None:
    """Serve the web app and REST API on the registry given by --db."""
    from bontrack.auth.cli import serve as run

    run(
        host=host,
        port=port,
        secure_cookies=secure_cookies,
        public_url=public_url,
        workers=workers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def main() -> None:
    app()
