"""`bontrack audit`: the audit trail, newest first, optionally of one record or one actor.

The filters read only the packs that can hold those entries (migration 0012's indexes), as the
audit page does. Reading the trail is itself audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from bontrack.cli.common import settings_of
from bontrack.cli.registry import engine, run

if TYPE_CHECKING:
    from bontrack.config import Settings

COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "record_type",
    "record_id",
    "version",
    "clinic_id",
    "detail",
)


def show_audit(settings: Settings, *, record: str | None, actor: str | None, limit: int, page: int) -> None:
    from bontrack.audit.service import page_entries
    from bontrack.storage.audit_log import log
    from bontrack.storage.engine import transaction

    reader = settings.resolved_actor()

    def go() -> None:
        offset = (page - 1) * limit
        with transaction(engine(settings)) as db:
            total, found = page_entries(db, limit=limit, offset=offset, record_id=record, actor=actor)
            log(
                db,
                actor=reader,
                action="read",
                record_type="audit_log",
                detail=f"{len(found)} entries from offset {offset} (command line)"
                + (f", record {record}" if record else "")
                + (f", actor {actor}" if actor else ""),
            )
        print("\t".join(COLUMNS))
        for e in found:
            values: tuple[object, ...] = (e.seq, e.at.isoformat(sep=" "), e.actor, e.action, e.outcome)
            values += (e.record_type, e.record_id, e.version, e.clinic_id, e.detail)
            print("\t".join("" if v is None else str(v) for v in values))
        if found:
            typer.echo(f"entries {offset + 1}-{offset + len(found)} of {total:,}, newest first", err=True)
        elif total:
            typer.echo(f"no entries on page {page}: {total:,} in all, newest first", err=True)
        else:
            typer.echo(
                "no entries" + (f" of record {record}" if record else "") + (f" by {actor}" if actor else ""),
                err=True,
            )

    run(go)


def audit_command(
    ctx: typer.Context,
    record: str | None = typer.Option(None, "--record", help="Only the entries of this record id."),
    actor: str | None = typer.Option(
        None,
        "--by",
        help="Only the entries of this actor, as the trail names it (e.g. user:ann@example.org).",
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Entries a page (1-10,000)."),
    page: int = typer.Option(
        1, "--page", min=1, max=1_000_000, help="Which page, newest first (1-1,000,000)."
    ),
) -> None:
    """The audit trail, newest first (tab-separated), of one record or one actor if asked."""
    show_audit(settings_of(ctx), record=record, actor=actor, limit=limit, page=page)
