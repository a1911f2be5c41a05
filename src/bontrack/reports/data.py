"""Cohort data for the report: the current version of every record, as data frames.

One query per record type (bontrack.queries), one audit entry per type read (a report reads the
whole cohort; an entry per row would bury the audit log). Withdrawn records are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy.orm import Session

from bontrack.injections.models import AdverseEventRow, InjectionSessionRow
from bontrack.outcomes.models import OutcomeRow
from bontrack.patients.models import PatientRow
from bontrack.queries import audit_reads, number_series
from bontrack.records import VersionedRow
from bontrack.reports.coded import code_ids, long_scores
from bontrack.reports.columnar import (
    Field,
    Kind,
    _sqlite_file,
    analysis_memory,
    connect,
    load_current,
    run,
    to_frame,
)
from bontrack.reports.columnar_driver import kept_connections, shared_snapshot
from bontrack.reports.columnar_parquet import load_parquet
from bontrack.reports.columnar_scores import load_scores
from bontrack.reports.columnar_sessions import load_sessions
from bontrack.reports.cycle_rows import CycleRows
from bontrack.reports.stored_ids import not_uuid
from bontrack.stock.models import StockReceiptRow, VialDiscardRow

# The scores the report analyses, by name inside an outcome's ``scoring.scores``.
REPORT_SCORES = (
    "pain_intensity",
    "total",
    "physical_functioning",
    "role_physical",
    "pain",
    "general_health",
    "energy_fatigue",
    "social_functioning",
    "role_emotional",
    "emotional_wellbeing",
)


STOCK_COLUMNS = ["date", "product", "kind", "units"]


@dataclass(frozen=True)
class CohortFrames:
    """Frames in the shapes the analytics expect (see analytics.cycles)."""

    patients: pd.DataFrame
    sessions: pd.DataFrame
    measurements: pd.DataFrame
    adverse_events: pd.DataFrame
    # vials received and discarded unopened: date, product, kind (received|discarded), units
    stock: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STOCK_COLUMNS))
    # patient and session ids already integer codes (reports.sections.frames.coded)
    ids_coded: bool = False
    # the per-cycle rows of each score joined by DuckDB from the read's tables (the read with ids
    # coded keeps them: reports.cycle_rows); None: the analysis joins them in pandas
    cycle_rows: CycleRows | None = field(default=None, compare=False, repr=False)
    # the read took the ids as DuckDB UUIDs (their stored 16 bytes: reports.stored_ids), not text
    uuid_ids: bool = field(default=False, compare=False)


def _fields(*specs: tuple[str, str, Kind] | str) -> list[Field]:
    return [Field(s, s) if isinstance(s, str) else Field(*s) for s in specs]


PATIENT_FIELDS = _fields("record_number", "sex", "birth_date")
SESSION_FIELDS = _fields(
    "patient_id",
    ("date", "date", "date"),
    "product",
    ("total_units", "total_units", "number"),
    ("physical_therapy", "physical_therapy", "flag"),
    ("decision", "decision.decision", "text"),
    ("override", "override", "present"),
    ("vial_units", "vial_units", "number"),
    ("vial_count", "vial_count", "number"),
)
OUTCOME_FIELDS = _fields(
    "patient_id",
    "session_id",
    ("weeks_after_session", "weeks_after_session", "number"),
    ("date", "date", "date"),
    "instrument",
)
EVENT_FIELDS = _fields(
    "session_id",
    "event",
    "severity",
    ("serious", "serious", "flag"),
    ("reported_date", "reported_date", "date"),
)
RECEIPT_FIELDS = _fields(
    "received_on", "product", ("vial_units", "vial_units", "number"), ("vial_count", "vial_count", "number")
)
DISCARD_FIELDS = _fields("discarded_on", "product", ("units", "units", "number"))
# the fields holding another record's id (read as UUIDs with the ids: reports.stored_ids)
REFERENCES = ("patient_id", "session_id")

# loads a record type's current rows (its fields) into the named DuckDB table, in the order of
# their ids unless the last argument is False; returns how many
Loader = Callable[[type[VersionedRow], Sequence[Field], str, bool], int]
# loads the outcomes' fields (their scores' too) into the named table from the derived table of
# current outcomes (``columnar_scores.load_scores``), as ``Loader`` would from the versions' JSON;
# on the given connection to the read's DuckDB database when one is given (a cursor of its own)
ScoresLoader = Callable[[Sequence[Field], str, bool, duckdb.DuckDBPyConnection | None], int]
# loads the sessions' fields into the named table from the derived table of current sessions'
# fields (``columnar_sessions.load_sessions``), as ``Loader`` would from the versions' JSON
SessionsLoader = Callable[[Sequence[Field], str, bool], int]


def cohort_frames(
    *,
    db: Session,
    actor: str,
    clinic_id: str | None = None,
    purpose: str = "report",
    scores: Sequence[str] = REPORT_SCORES,
    committed: bool = False,
    coded_ids: bool = False,
    every_score: bool = True,
) -> CohortFrames:
    """Every current patient, session, scored outcome and adverse event (optionally of one
    clinic), read in bulk through DuckDB (reports.columnar); one audit entry per type read.
    ``committed``: this transaction has written nothing yet (reports.columnar.load_current).
    ``coded_ids``: patient and session ids as ``reports.sections.frames.coded`` makes them
    (integer codes in the ids' order), coded by DuckDB: no Python object per id; the frames then
    keep the read's DuckDB tables for the report's sections (``CohortFrames.cycle_rows``).
    ``every_score`` False (with ``coded_ids``): ``measurements`` left empty (no long frame of
    every score in pandas, and the outcomes not sorted): the report reads them through
    ``cycle_rows``.

    The outcomes are read from the derived table of current outcomes (typed columns and each
    outcome's object of scores, kept as outcomes are written: bontrack.outcomes.scores_kept), not
    from every version's whole JSON: the same rows. A registry without the table (before
    migration 0014) is read from the versions' JSON. So are the sessions: from the derived table
    of their current fields (bontrack.injections.fields_kept, migration 0015) when it is there."""
    from bontrack.injections import fields_kept
    from bontrack.outcomes import scores_kept

    read: dict[str, int] = {}
    by_scores = scores_kept.has_table(db)
    by_fields = fields_kept.has_table(db)
    if (by_scores or by_fields) and not committed:  # what this unit wrote, derived before it is read
        scores_kept.current(db)  # (every derived table: bontrack.storage.unit.derived_up_to_date)

    # each load reads by a driver on a connection of its own: a SQLite file, or PostgreSQL in the
    # session's snapshot (exported here, before the loads' threads: reports.columnar_driver)
    shared = shared_snapshot(db) if committed and _sqlite_file(db) is None else None
    by_driver = committed and (_sqlite_file(db) is not None or shared is not None)

    def assembled(uuids: bool) -> CohortFrames:
        duck = connect()

        # (each loader with the read's connection and way of reading; the references as UUIDs too)
        current = partial(load_current, duck=duck, committed=committed, uuids=uuids, references=REFERENCES)
        kept_sessions = partial(
            load_sessions, duck=duck, committed=committed, uuids=uuids, references=REFERENCES
        )
        kept_scores = partial(load_scores, duck=duck, committed=committed, uuids=uuids)

        def load(row_cls: type[VersionedRow], fields: Sequence[Field], into: str, ordered: bool) -> int:
            read[row_cls.record_type] = n = current(
                db, row_cls, clinic_id, fields, into=into, ordered=ordered
            )
            return n

        def load_outcomes(
            fields: Sequence[Field], into: str, ordered: bool, on: duckdb.DuckDBPyConnection | None = None
        ) -> int:
            n = kept_scores(db, clinic_id, fields, into=into, ordered=ordered, duck=on or duck)
            read[OutcomeRow.record_type] = n
            return n

        def load_sessions_kept(fields: Sequence[Field], into: str, ordered: bool) -> int:
            read[InjectionSessionRow.record_type] = n = kept_sessions(
                db, clinic_id, fields, into=into, ordered=ordered
            )
            return n

        return _kept(
            duck,
            lambda: _assemble(
                load,
                duck,
                scores,
                coded_ids=coded_ids,
                every_score=every_score,
                load_outcomes=load_outcomes if by_scores else None,
                load_sessions=load_sessions_kept if by_fields else None,
                beside=by_driver,
            ),
        )

    # ids coded: only joined and ordered, so read as UUIDs when every one is (reports.stored_ids),
    # else (an id imported as text, or a registry from before migration 0018) read again as text
    with kept_connections(shared):  # (PostgreSQL's: one costs 35-40 ms to open)
        if coded_ids:
            try:
                frames = replace(assembled(uuids=True), uuid_ids=True)
            except Exception as error:
                if not not_uuid(error):
                    raise
                read.clear()
                frames = assembled(uuids=False)
        else:
            frames = assembled(uuids=False)
    # (in the order of the types, whichever load ended first)
    read = {row.record_type: read[row.record_type] for row in PARQUET_ROWS if row.record_type in read} | read
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read=read)
    return frames


# the record types the report reads from a Parquet export (``parquet_frames``), in that order
PARQUET_ROWS: tuple[type[VersionedRow], ...] = (
    PatientRow,
    InjectionSessionRow,
    OutcomeRow,
    AdverseEventRow,
    StockReceiptRow,
    VialDiscardRow,
)


def parquet_name(row_cls: type[VersionedRow]) -> str:
    """A record type's name in a Parquet export (the export names its files by kind)."""
    # the kinds import every record type's schema and model (0.1 s): only for a Parquet read
    from bontrack.kinds import KINDS

    return next(k.name for k in KINDS if k.row.record_type == row_cls.record_type)


def parquet_files() -> list[str]:
    """The files of a Parquet export folder the report reads."""
    return [f"{parquet_name(row)}.parquet" for row in PARQUET_ROWS]


def parquet_frames(
    folder: Path,
    *,
    clinic_id: str | None = None,
    scores: Sequence[str] = REPORT_SCORES,
    coded_ids: bool = False,
    every_score: bool = True,
) -> CohortFrames:
    """``cohort_frames`` from a Parquet export folder (``bontrack export --format parquet``):
    the same rows, so the same report. Files, not the registry: nothing is audited here (the
    export was)."""
    duck = connect()

    def load(row_cls: type[VersionedRow], fields: Sequence[Field], into: str, ordered: bool) -> int:
        name = parquet_name(row_cls)
        return load_parquet(folder, name, clinic_id, fields, duck=duck, into=into, ordered=ordered)

    return _kept(duck, lambda: _assemble(load, duck, scores, coded_ids=coded_ids, every_score=every_score))


def _kept(duck: duckdb.DuckDBPyConnection, assemble: Callable[[], CohortFrames]) -> CohortFrames:
    """The frames ``assemble`` makes; the DuckDB connection closed unless they keep it."""
    try:
        frames = assemble()
    except BaseException:
        duck.close()
        raise
    if frames.cycle_rows is None:
        duck.close()
    return frames


def _assemble(
    load: Loader,
    duck: duckdb.DuckDBPyConnection,
    scores: Sequence[str],
    *,
    coded_ids: bool,
    every_score: bool = True,
    load_outcomes: ScoresLoader | None = None,
    load_sessions: SessionsLoader | None = None,
    beside: bool = False,
) -> CohortFrames:
    """The frames from the loads' DuckDB tables. ``beside``: the loads may run at once (each reads
    on a connection of its own), so the outcomes' (from the derived table: most of the rows) is
    made in a thread of its own while the other types are loaded."""
    score_fields = [Field(f"score_{i}", f"scoring.scores.{name}", "measure") for i, name in enumerate(scores)]
    long_frame = every_score or not coded_ids  # without cycle_rows the sections read the long frame
    outcome_fields = [*OUTCOME_FIELDS, *score_fields]
    # the outcomes in the order of their ids only for the long frame (cycle_rows orders its rows)
    with _beside(duck, load_outcomes if beside else None, outcome_fields, long_frame) as loading:
        load(PatientRow, PATIENT_FIELDS, "patients", True)
        if load_sessions is not None:  # from the derived table (typed columns, no JSON)
            load_sessions(SESSION_FIELDS, "sessions", True)
        else:
            load(InjectionSessionRow, SESSION_FIELDS, "sessions", True)
        if loading is not None:  # (being loaded beside)
            pass
        elif load_outcomes is not None:  # from the derived table (typed columns, small JSON)
            load_outcomes(outcome_fields, "outcomes", long_frame, None)
        else:
            load(OutcomeRow, outcome_fields, "outcomes", long_frame)
        load(AdverseEventRow, EVENT_FIELDS, "events", True)
        load(StockReceiptRow, RECEIPT_FIELDS, "receipts", True)
        load(VialDiscardRow, DISCARD_FIELDS, "discards", True)
    # an outcome is in the measurements when it has a score (a number, or not one: NaN)
    measured = " or ".join(f"score_{i} is not null" for i in range(len(scores))) or "false"
    if coded_ids:
        code_ids(duck, measured, ordered=long_frame)
    rest = ", ".join(f.name for f in PATIENT_FIELDS)
    patients = _frame(duck, f"select id as patient_id, {rest} from patients")
    rest = ", ".join(f.name for f in SESSION_FIELDS[1:])
    sessions = _frame(duck, f"select patient_id, id as session_id, {rest} from sessions")
    rest = ", ".join(f.name for f in EVENT_FIELDS)
    events = _frame(duck, f"select {rest} from events")
    # without the long frame: its columns, no rows (cycle_rows reads the scores)
    own = [f.name for f in OUTCOME_FIELDS if f.name != "instrument"]
    measurements = (
        long_scores(duck, scores, measured, own) if long_frame else long_scores(duck, [], "false", own)
    )
    stock = stock_frame(
        _frame(duck, "select * exclude (id) from receipts"),
        _frame(duck, "select * exclude (id) from discards"),
    )
    rows = CycleRows(duck, scores, measured) if coded_ids else None
    if rows is not None:  # what cycle_rows does not read, let go (DuckDB keeps sessions and outcomes)
        for table in ("patients", "events", "receipts", "discards", "patient_codes", "session_codes"):
            run(duck, f"drop table {table}")
        analysis_memory(duck)
    return CohortFrames(patients, sessions, measurements, events, stock, ids_coded=coded_ids, cycle_rows=rows)


@contextmanager
def _beside(
    duck: duckdb.DuckDBPyConnection,
    load_outcomes: ScoresLoader | None,
    fields: Sequence[Field],
    ordered: bool,
) -> Iterator[Future[int] | None]:
    """With ``load_outcomes``: the outcomes loaded into table ``outcomes`` in a thread of its own,
    on a cursor of the read's DuckDB database, while the block loads the rest; its end waits for
    that load (whatever the block did) and raises its error. Without: nothing (None)."""
    if load_outcomes is None:
        yield None
        return
    cursor = duck.cursor()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bontrack-read-outcomes") as pool:
        loading = pool.submit(load_outcomes, fields, "outcomes", ordered, cursor)
        try:
            yield loading
        finally:
            wait([loading])
            cursor.close()
    loading.result()


def _frame(duck: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return to_frame(duck.sql(sql).to_arrow_table())


def stock_frame(received: pd.DataFrame, discarded: pd.DataFrame) -> pd.DataFrame:
    """Deliveries and unopened discards as rows of (date, product, kind, units)."""
    bought = pd.DataFrame(
        {
            "date": received["received_on"],
            "product": received["product"],
            "kind": "received",
            "units": number_series(received["vial_units"]) * number_series(received["vial_count"]),
        }
    )
    thrown = pd.DataFrame(
        {
            "date": discarded["discarded_on"],
            "product": discarded["product"],
            "kind": "discarded",
            "units": number_series(discarded["units"]),
        }
    )
    parts = [f for f in (bought, thrown) if len(f)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=STOCK_COLUMNS)
