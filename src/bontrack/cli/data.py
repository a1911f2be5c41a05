"""`bontrack db upgrade`, `due`, `export` and `import`: the registry's schema, worklist and exchange."""

from __future__ import annotations

import json
import zlib

import typer

from bontrack.cli.common import Format, choose_format, clinic_name, settings_of
from bontrack.cli.help_layout import App
from bontrack.cli.registry import engine, parse_date, read_engine, run

db_app = App(help="Registry database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create the registry schema, or bring it up to this version (run `bontrack backup` first)."""
    from bontrack.storage.engine import current_revision, upgrade

    settings = settings_of(ctx)

    def go() -> None:
        eng = engine(settings, create=False, new=True)
        before = current_revision(eng)
        after = upgrade(eng)
        url = eng.url.render_as_string(hide_password=True)
        if before == after:
            print(f"{url}: schema already at {after}")
        else:
            print(f"{url}: schema upgraded from {before or '(empty)'} to {after}")

    run(go)


@db_app.command("compact")
def db_compact(ctx: typer.Context) -> None:
    """Give the space of rows deleted or stored shorter back to the disk.

    SQLite: VACUUM, which rewrites the file and needs it to itself for a while; PostgreSQL: VACUUM
    ANALYZE. Worth running once after the upgrade to migration 0018 (ids stored as 16 bytes: about
    a fifth of a SQLite registry's bytes)."""
    from pathlib import Path

    settings = settings_of(ctx)

    def go() -> None:
        eng = engine(settings, create=False)
        url = eng.url.render_as_string(hide_password=True)
        if eng.dialect.name == "sqlite" and eng.url.database:
            path = Path(eng.url.database)
            log = path.with_name(path.name + "-wal")

            def size() -> int:  # the file and its write-ahead log
                return path.stat().st_size + (log.stat().st_size if log.exists() else 0)

            before = size()
            raw = eng.raw_connection()  # (VACUUM runs outside any transaction)
            try:
                cursor = raw.cursor()
                cursor.execute("VACUUM")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page back in the file
            finally:
                raw.close()
            after = size()
            print(f"{url}: {before / 1e6:,.1f} MB -> {after / 1e6:,.1f} MB")
        else:
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
            print(f"{url}: vacuumed and analysed")

    run(go)


def due(
    ctx: typer.Context,
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="The day to plan for (default: today)."
    ),
    days: int | None = typer.Option(
        None, "--days", help="Look ahead this many days (default: the worklist window's, 7)."
    ),
    back: int | None = typer.Option(
        None, "--back", help="List overdue items up to this many days back (default: the window's, 28)."
    ),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    clinic: str | None = typer.Option(None, "--clinic", help="Only this clinic id."),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Derive the due items again from every record (they are kept as records are written; "
        "the table is derived, not a clinical record), then list them.",
    ),
) -> None:
    """The worklist, as the web pages show it, overdue first.

    Outcome visits, re-injection dates, physical-therapy visits and adverse events to follow up
    (open or serious) within the one window
    (bontrack.scheduling.window); done, cancelled and snoozed items left out; older open items
    counted."""
    from rich.console import Console
    from rich.table import Table

    from bontrack.errors import InputError
    from bontrack.scheduling.actions import work_list
    from bontrack.scheduling.window import load_window
    from bontrack.storage.engine import transaction

    settings = settings_of(ctx)

    def go() -> None:
        chosen = choose_format(fmt, Format.table, Format.json)
        if days is not None and days < 0:
            raise InputError.one("--days", f"must be 0 or more, got {days}")
        if back is not None and back < 0:
            raise InputError.one("--back", f"must be 0 or more, got {back}")
        window = load_window(look_back_days=back, look_ahead_days=days)
        today = parse_date("--date", date)
        with transaction(engine(settings)) as db:
            if clinic is not None:
                clinic_name(db, settings.resolved_actor(), clinic)
            if rebuild:
                from bontrack.scheduling.due import rebuild as rebuild_items

                n = rebuild_items(db, clinic)
                Console(stderr=True).print(f"Due items derived again from the records: {n:,}.")
            worked = work_list(
                db=db, actor=settings.resolved_actor(), today=today, window=window, clinic_id=clinic
            )
        items = worked.items
        if chosen is Format.json:
            print(json.dumps([i.model_dump(mode="json") for i in items], indent=2))
            return
        table = Table(
            title=f"Worklist on {today} ({window.words()}); "
            f"{worked.older:,} older open items counted, not listed",
            show_lines=False,
        )
        for column in ("status", "due", "patient", "what"):  # "what" names the kind of item
            table.add_column(column)
        colours = {"overdue": "bold red", "due": "yellow", "eligible": "green", "upcoming": "dim"}
        for i in items:
            table.add_row(
                f"[{colours[i.status]}]{i.status}[/]",
                str(i.due_date),
                f"{i.name} ({i.record_number})" if i.name else i.record_number,
                i.what,
            )
        Console().print(table if items else "Nothing due.")

    run(go)


def export(
    ctx: typer.Context,
    target: str = typer.Argument(
        ...,
        metavar="FILE|DIR",
        help="FILE.jsonl (FILE.jsonl.gz: compressed), or a folder with --format csv or parquet.",
    ),
    fmt: str = typer.Option(
        "jsonl",
        "--format",
        help="jsonl (every record and version), csv (every version + dictionary) "
        "or parquet (current versions, typed columns + dictionary).",
    ),
) -> None:
    """Export the registry: JSON Lines for exchange, CSV or Parquet for analysts.

    Not a backup (see `bontrack backup`). Memory stays bounded whatever the registry's size."""
    from pathlib import Path

    from bontrack.errors import InputError
    from bontrack.exchange.files import open_for_writing
    from bontrack.exchange.jsonl import write_export
    from bontrack.exchange.tabular import export_csv
    from bontrack.storage.engine import make_engine, write_turn
    from bontrack.storage.replica import read_session
    from bontrack.storage.unit import UnitOfWork

    settings = settings_of(ctx)
    actor = settings.resolved_actor()

    def go() -> None:
        chosen = choose_format(fmt, Format.jsonl, Format.csv, Format.parquet)
        path = Path(target)
        if chosen in (Format.csv, Format.parquet) and path.exists() and not path.is_dir():
            raise InputError.one("DIR", f"{target} is a file; give a folder for --format {chosen}")
        if chosen is Format.jsonl and path.is_dir():
            raise InputError.one("FILE", f"{target} is a folder; give a file name such as registry.jsonl")
        primary = engine(settings)
        reader = read_engine(settings, primary)
        if reader is None and primary.dialect.name == "sqlite":
            # a read transaction on the same file: the export (minutes on a large registry) holds
            # neither the write lock nor the writers' turn, so the clinic's writes go on beside it
            reader = make_engine(settings.resolved_database_url(), read_only=True)
        partial = path.with_name(path.name + ".partial")
        # rows from the read replica or reader; the export's audit entry held by the primary's
        # unit of work, committed once the files are complete
        with UnitOfWork(primary, expire_on_commit=False) as audited:
            with read_session(reader, audited, None) as db:
                try:
                    if chosen is Format.parquet:
                        from bontrack.exchange.parquet import export_parquet

                        files = export_parquet(db=db, actor=actor, folder=path)
                    elif chosen is Format.csv:
                        files = export_csv(db=db, actor=actor, folder=path)
                    else:
                        with open_for_writing(partial, compressed=path.suffix == ".gz") as out:
                            written = write_export(db=db, actor=actor, out=out, destination=str(path))
                except OSError as exc:  # csv and parquet removed what they had written (staged_files)
                    partial.unlink(missing_ok=True)
                    field = "FILE" if chosen is Format.jsonl else "DIR"
                    raise InputError.one(field, f"cannot write {target}: {exc.strerror or exc}") from None
            try:
                with write_turn(primary):
                    audited.commit()  # the audit entries, before the file is in place
            except Exception:
                partial.unlink(missing_ok=True)
                raise
        if chosen is not Format.jsonl:
            print(f"wrote {len(files)} files to {path}/")
            return
        partial.replace(path)
        print(f"wrote {written} record versions to {path}")

    run(go)


def _unreadable(exc: Exception) -> str:
    """Why a file to import could not be read, in words (the transaction has rolled back)."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, EOFError):
        return "the compressed file is cut short (it ends before gzip's end marker)"
    if isinstance(exc, OSError) and exc.strerror is not None:
        return exc.strerror
    return f"the compressed file is damaged ({exc})"  # zlib's error, or gzip's (an OSError)


def import_(ctx: typer.Context, source: str = typer.Argument(..., metavar="FILE.jsonl")) -> None:
    """Import a JSON Lines export (plain or gzip-compressed), all or nothing.

    Records already present are skipped; a new registry is created, or none if the import fails.
    Memory stays bounded whatever the file's size."""
    from pathlib import Path

    from bontrack.errors import InputError
    from bontrack.exchange.files import open_for_reading
    from bontrack.exchange.jsonl import import_lines
    from bontrack.storage.engine import make_engine, refresh_statistics, transaction

    settings = settings_of(ctx)

    def go() -> None:
        path = Path(source)
        engine(settings, new=True).dispose()  # the schema made current (a new registry created)
        # one transaction, written once in place on SQLite (see make_engine's bulk_load)
        loading = make_engine(settings.resolved_database_url(), bulk_load=True)
        try:
            with open_for_reading(path) as lines, transaction(loading) as db:
                added = import_lines(db=db, actor=settings.resolved_actor(), lines=lines, source=str(path))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise InputError.one("FILE", f"cannot read {source}: {_unreadable(exc)}") from None
        finally:
            loading.dispose()
            restored = engine(settings, new=True)  # SQLite: the write-ahead log again
        if added:
            refresh_statistics(restored)
        print(f"imported {added} record versions from {path}" if added else f"nothing new in {path}")

    run(go)
