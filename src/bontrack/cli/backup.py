"""`bontrack backup` and `bontrack restore`: the whole registry to a file and back, with progress."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bontrack.cli.common import settings_of
from bontrack.cli.registry import err_console, run

if TYPE_CHECKING:
    from collections.abc import Callable

    from bontrack.backup import Summary

_TARGET_DB_HELP = "The registry (default: the global --db, BONTRACK_DATABASE_URL, sqlite:///bontrack.db)."
_PG_BIN_HELP = "Folder of pg_dump and pg_restore (default: newest /usr/lib/postgresql/*/bin, else PATH)."


def _print_summary(summary: Summary, heading: str) -> None:
    print(heading)
    print(f"  schema {summary.revision}; {summary.size / 1e6:,.1f} MB; {summary.checked}")
    width = max((len(name) for name in summary.tables), default=0)
    for name, rows in summary.tables.items():
        print(f"  {name:<{width}}  {rows:>12,}")
    print(f"  {'(all tables)':<{width}}  {summary.rows:>12,}")
    if not summary.audited:
        err_console().print(
            "[yellow]note[/] the registry's schema is not this bontrack's: nothing was written to its "
            "audit log; run `bontrack db upgrade` on it before use",
            soft_wrap=True,
        )


def _copy(
    ctx: typer.Context,
    step: Callable[..., Summary],
    file: Path,
    *,
    db: str | None,
    force: bool,
    pg_bin: str | None,
) -> Summary:
    """Run a backup or a restore with its progress shown; errors become exit codes."""
    from bontrack.cli.progress import RichStages

    settings = settings_of(ctx)

    def go() -> Summary:
        stages = RichStages()
        with stages.progress:
            return step(
                url=db or settings.resolved_database_url(),
                file=file,
                actor=settings.resolved_actor(),
                force=force,
                pg_bin=pg_bin,
                stages=stages,
            )

    return run(go)


def backup(
    ctx: typer.Context,
    target: str = typer.Argument(..., metavar="FILE", help="The backup file to write."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=_TARGET_DB_HELP),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
    pg_bin: str | None = typer.Option(None, "--pg-bin", metavar="DIR", help=_PG_BIN_HELP),
) -> None:
    """Copy the whole registry (records, versions, audit log, users, keys) while it is in use."""
    from bontrack.backup import backup as run_backup

    summary = _copy(ctx, run_backup, Path(target), db=db, force=force, pg_bin=pg_bin)
    _print_summary(summary, f"backed up {summary.url} to {summary.file}, rows as of the copy:")


def restore(
    ctx: typer.Context,
    source: str = typer.Argument(..., metavar="FILE", help="A file made by `bontrack backup`."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=_TARGET_DB_HELP),
    force: bool = typer.Option(
        False, "--force", help="Replace a registry that holds data (refused without it)."
    ),
    pg_bin: str | None = typer.Option(None, "--pg-bin", metavar="DIR", help=_PG_BIN_HELP),
) -> None:
    """Bring back a whole registry from a backup: into a new or empty database, or --force."""
    from bontrack.backup import restore as run_restore

    summary = _copy(ctx, run_restore, Path(source), db=db, force=force, pg_bin=pg_bin)
    _print_summary(summary, f"restored {summary.file} into {summary.url}:")
