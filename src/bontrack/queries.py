"""Clinic-wide reads of current records as data frames: the storage queries the report and the
worklist share (one query per record type, audited as one entry per type read, with the count).

Each record's JSON is read as text and decoded once, while streaming, by orjson; only the named
fields are kept, so a 100,000-patient registry is not held in memory as Python dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import ColumnElement, Text, cast, func, select
from sqlalchemy.orm import Session

from bontrack.dates import clamp_text
from bontrack.injections.models import InjectionSessionRow
from bontrack.outcomes.models import OUTCOME_PATHS, OutcomeRow
from bontrack.records import VersionedRow
from bontrack.storage import record_json
from bontrack.storage.audit_log import log
from bontrack.storage.versioned import is_newest


def _getter(path: str) -> Callable[[dict[str, Any]], Any]:
    keys = path.split(".")
    if len(keys) == 1:
        key = keys[0]
        return lambda d: d.get(key)

    def get(d: dict[str, Any]) -> Any:
        value: Any = d
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


def current_frame(
    db: Session,
    row_cls: type[VersionedRow],
    clinic_id: str | None,
    paths: Sequence[str],
    *,
    columns: Sequence[str] = (),
    where: Sequence[ColumnElement[bool]] = (),
) -> pd.DataFrame:
    """The current, non-withdrawn version of every record: ``id``, the fields at ``paths`` and
    the row ``columns`` (e.g. ``recorded_at``). ``where``: conditions on the current version
    (an indexed column, so the database narrows the read). Not audited: the caller audits.

    On SQLite one json_extract call with every path picks the fields in C (one parse per row, not
    one per field) and orjson decodes the small array; elsewhere the whole JSON is read as text
    and decoded by orjson while streaming.
    """
    sqlite_pick = db.get_bind().dialect.name == "sqlite" and len(paths) >= 2
    if not paths:  # row columns only: the JSON is not read at all
        query = select(row_cls.id, cast(None, Text))
    elif sqlite_pick:
        # SQLite's json_extract with several paths parses the document once, in C, and answers
        # a small JSON array of just these fields (numbers keep their original text)
        picked = func.json_extract(record_json.json_of(row_cls.data), *(f"$.{p}" for p in paths))
        query = select(row_cls.id, cast(picked, Text))
    elif db.get_bind().dialect.name == "sqlite":  # (packed: storage.record_json)
        query = select(row_cls.id, record_json.raw_of(row_cls.data))
    else:
        query = select(row_cls.id, cast(row_cls.data, Text))
    query = query.add_columns(*(getattr(row_cls, c) for c in columns)).where(
        row_cls.withdrawn.is_(False),
        is_newest(row_cls),
        *where,
    )
    if clinic_id is not None:
        query = query.where(row_cls.clinic_id == clinic_id)
    getters = [_getter(p) for p in paths]
    ids: list[str] = []
    fields: list[list[Any]] = [[] for _ in paths]
    appends = [c.append for c in fields]
    extra: list[list[Any]] = [[] for _ in columns]
    extra_appends = [c.append for c in extra]
    loads = orjson.loads
    # stream for this statement only (a connection-wide option would stick to later statements)
    result = db.connection().execute(query.order_by(row_cls.id), execution_options={"stream_results": True})
    for chunk in result.partitions(20_000):
        if sqlite_pick and not columns:
            for rid, text in chunk:
                ids.append(rid)
                for append, value in zip(appends, loads(text), strict=True):
                    append(value)
            continue
        for row in chunk:
            ids.append(row[0])
            text, more = row[1], row[2:]
            if sqlite_pick:
                for append, value in zip(appends, loads(text), strict=True):
                    append(value)
            elif paths:
                data = record_json.loads(text)
                for append, get in zip(appends, getters, strict=True):
                    append(get(data))
            for append, value in zip(extra_appends, more, strict=True):
                append(value)
    frame = {"id": pd.Series(ids, dtype=object)}
    for path, values in zip(paths, fields, strict=True):
        frame[path] = pd.Series(values, dtype=object)
    for column, values in zip(columns, extra, strict=True):
        frame[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(frame)


def number_series(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype(float)


def dates_series(series: pd.Series) -> pd.Series:
    """Stored ISO dates as timestamps. A date outside 1900..2100 (a registry imported from
    elsewhere can hold year 9999 or 0001) is clamped to that edge, as pandas holds only years
    1677..2262."""
    text = series.map(lambda v: clamp_text(v) if isinstance(v, str) else v)
    return pd.to_datetime(text, format="%Y-%m-%d")


def flag_series(series: pd.Series) -> pd.Series:
    """JSON booleans (missing or null is False)."""
    return series.map(lambda v: v is True).astype(bool)


def measurements_frame(outcomes: pd.DataFrame, scores: Sequence[str]) -> pd.DataFrame:
    """Outcomes read at ``OUTCOME_PATHS`` and ``scoring.scores.<score>``: one row per score."""
    score_paths = [f"scoring.scores.{name}" for name in scores]
    wide = outcomes.rename(columns=dict(zip(score_paths, scores, strict=True)))
    measurements = wide.melt(
        id_vars=["patient_id", "session_id", "weeks_after_session", "date", "instrument"],
        value_vars=list(scores),
        var_name="score",
        value_name="value",
    ).dropna(subset=["value"])
    return measurements.assign(
        patient_id=measurements["patient_id"].astype(object),
        session_id=measurements["session_id"].astype(object),
        date=dates_series(measurements["date"]),
        weeks_after_session=number_series(measurements["weeks_after_session"]),
        value=number_series(measurements["value"]),
        instrument=measurements["instrument"].astype("category"),
        score=measurements["score"].astype("category"),
    ).reset_index(drop=True)


def audit_reads(
    db: Session, *, actor: str, clinic_id: str | None, purpose: str, read: dict[str, int]
) -> None:
    """One entry per record type read clinic-wide, with the count (not one per record)."""
    for record_type, n in read.items():
        log(
            db,
            actor=actor,
            action="read",
            record_type=record_type,
            clinic_id=clinic_id,
            detail=f"{purpose}: {n} current records",
        )


def review_frames(
    *, db: Session, actor: str, clinic_id: str | None, purpose: str, instrument: str, score: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What stop-and-review needs, and no more: every current session (with ``recorded_at``) and
    the outcomes of one instrument with one score, as ``cohort_frames`` shapes them. Two reads,
    audited like the report's (one entry per record type, with the count)."""
    read: dict[str, int] = {}
    raw = current_frame(db, InjectionSessionRow, clinic_id, ("patient_id", "date"), columns=("recorded_at",))
    read[InjectionSessionRow.record_type] = len(raw)
    sessions = raw.rename(columns={"id": "session_id"})
    sessions["date"] = dates_series(sessions["date"])
    path = f"scoring.scores.{score}"
    outcomes = current_frame(db, OutcomeRow, clinic_id, (*OUTCOME_PATHS, path))
    read[OutcomeRow.record_type] = len(outcomes)
    outcomes = outcomes[outcomes["instrument"] == instrument]
    audit_reads(db, actor=actor, clinic_id=clinic_id, purpose=purpose, read=read)
    return sessions, measurements_frame(outcomes, [score])
