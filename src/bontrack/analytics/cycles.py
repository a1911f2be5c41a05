"""Per-cycle outcomes: baseline, follow-up at each visit, change and responder status.

Input frames (built from the registry by the report layer):

``sessions``
    one row per injection session: ``patient_id``, ``session_id``, ``date`` (datetime64).
``measurements``
    one row per score: ``patient_id``, ``session_id`` (None when not a follow-up),
    ``weeks_after_session`` (None when not a follow-up), ``date`` (datetime64), ``instrument``,
    ``score``, ``value``.

The baseline of a cycle is the patient's last value of that score on or before the session
date. Improvement is signed so that positive is better (``better='lower'`` for pain and NDI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class ResponseRule:
    """How change is judged; the numbers come from the knowledge base (outcomes.toml)."""

    instrument: str
    score: str
    better: Better
    mcid: float | None
    moderate_percent: float
    substantial_percent: float


def number_cycles(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions with ``cycle`` (1, 2, ... per patient) and ``next_session_date``: the one cycle
    order, by date, then recording time (``recorded_at``, where the frame has it), then id."""
    order = [
        "patient_id",
        "date",
        *(["recorded_at"] if "recorded_at" in sessions.columns else []),
        "session_id",
    ]
    out = sort_rows(sessions, order)
    if out is sessions:  # (in that order already) a copy: the columns are added to it
        out = out.copy()
    patient = out["patient_id"].to_numpy()
    date = out["date"].to_numpy()
    if patient.dtype.kind in "iu" and date.dtype == np.dtype("datetime64[ns]"):
        # integer patients (the report's codes), sorted: each patient's sessions are a run, numbered
        # and followed in place (as groupby's cumcount and shift number and follow them)
        n = len(patient)
        fresh = np.r_[True, patient[1:] != patient[:-1]] if n else np.zeros(0, dtype=bool)
        starts = np.flatnonzero(fresh)
        run = np.cumsum(fresh) - 1
        out["cycle"] = np.arange(n, dtype=np.int64) - starts[run] + 1
        following = np.empty_like(date)
        following[:-1] = date[1:]
        following[np.r_[fresh[1:], True] if n else fresh] = np.datetime64("NaT")  # (a patient's last)
        out["next_session_date"] = following
        return out
    out["cycle"] = out.groupby("patient_id").cumcount() + 1
    out["next_session_date"] = out.groupby("patient_id")["date"].shift(-1)
    return out


def cycle_outcomes(sessions: pd.DataFrame, measurements: pd.DataFrame, rule: ResponseRule) -> pd.DataFrame:
    """One row per (session, follow-up visit) with baseline, value, change and responder flags.

    Columns: patient_id, session_id, cycle, session_date, next_session_date, weeks, date, baseline,
    value, obs, baseline_obs, change, improvement, improvement_percent, responder_moderate,
    responder_substantial, mcid_met. ``obs`` numbers the follow-up score and ``baseline_obs`` the
    baseline score (NaN without one) among the rule's scores, so a score used twice is known.
    Flags are None where they cannot be judged (no baseline; zero baseline for percents).
    Sessions already numbered by ``number_cycles`` are used as they are (callers that judge many
    scores number them once).
    """
    numbered = "cycle" in sessions.columns and "next_session_date" in sessions.columns
    cycles = (sessions if numbered else number_cycles(sessions)).rename(columns={"date": "session_date"})
    # only the columns the rows take (the sessions' other fields need not be sorted and merged)
    cycles = cycles[["patient_id", "session_id", "cycle", "session_date", "next_session_date"]]
    m = measurements[(measurements["instrument"] == rule.instrument) & (measurements["score"] == rule.score)]
    # each score's identity (``obs``): a score that is one cycle's baseline and another's
    # follow-up is one observation (trajectories.visit_frame uses it once)
    m = m.dropna(subset=["value"]).reset_index(drop=True)
    m = m.assign(obs=m.index.to_numpy())
    base = (
        pd.merge_asof(
            cycles.sort_values("session_date"),
            m.sort_values(["date", "obs"])[["patient_id", "date", "value", "obs"]].rename(
                columns={"date": "baseline_date", "value": "baseline", "obs": "baseline_obs"}
            ),
            left_on="session_date",
            right_on="baseline_date",
            by="patient_id",
            direction="backward",
        )
        .drop(columns=["baseline_date"])
        .set_index("session_id")
    )
    follow = m.dropna(subset=["session_id", "weeks_after_session"])
    taken = ["cycle", "session_date", "next_session_date", "baseline", "baseline_obs"]
    if base.index.is_unique and not set(taken) & set(follow.columns):
        # each follow-up's session looked up by position (the inner merge's rows, in its order)
        at = base.index.get_indexer(pd.Index(follow["session_id"]))
        follow = follow[at >= 0]
        session = base.iloc[at[at >= 0]]
        looked_up = pd.DataFrame({c: session[c].to_numpy() for c in taken}, index=follow.index)
        rows = pd.concat([follow, looked_up], axis=1)
    else:
        rows = follow.merge(base, left_on="session_id", right_index=True, suffixes=("", "_s"))
    out = pd.DataFrame(
        {
            "patient_id": rows["patient_id"],
            "session_id": rows["session_id"],
            "cycle": rows["cycle"].astype(int),
            "session_date": rows["session_date"],
            "next_session_date": rows["next_session_date"],
            "weeks": rows["weeks_after_session"].astype(int),
            "date": rows["date"],
            "baseline": rows["baseline"].astype(float),
            "value": rows["value"].astype(float),
            "obs": rows["obs"].astype(int),
            "baseline_obs": rows["baseline_obs"].astype(float),
        }
    )
    return judged_rows(out, rule)


def judged_rows(out: pd.DataFrame, rule: ResponseRule) -> pd.DataFrame:
    """The rows of ``cycle_outcomes`` from their joined columns (patient_id, session_id, cycle,
    session_date, next_session_date, weeks, date, baseline, value, obs, baseline_obs; in the order
    of the measurements they came from): change, improvement and the responder flags judged by
    ``rule``, sorted by patient, cycle and week (stable). The one definition of the judgement,
    whoever joined the rows (this module in pandas, or the report's read in DuckDB:
    ``reports.cycle_rows``). The columns are added to ``out`` itself (a frame made for it)."""
    sign = -1.0 if rule.better == "lower" else 1.0
    if out["value"].dtype == np.float64 and out["baseline"].dtype == np.float64:
        _judged_floats(out, rule, sign)  # (the same numbers from the arrays: a third of the time)
    else:
        judged_by_pandas(out, rule, sign)
    rows = sort_rows(out, ["patient_id", "cycle", "weeks"])
    if rows is out and _numbered(out.index):  # in order already, numbered 0..n-1: a copy would be all
        return out
    return rows.reset_index(drop=True)


def judged_by_pandas(out: pd.DataFrame, rule: ResponseRule, sign: float) -> None:
    """``judged_rows``' columns added to ``out`` by pandas' operations (rows of any types)."""
    out["change"] = out["value"] - out["baseline"]
    out["improvement"] = sign * out["change"]
    nonzero = out["baseline"].where(out["baseline"] != 0)
    out["improvement_percent"] = 100 * out["improvement"] / nonzero.abs()
    judged = out["improvement_percent"].notna()
    # Rounded so an exact 30% (7 -> 4.9) counts despite binary floating point.
    pct = out["improvement_percent"].round(9)
    out["responder_moderate"] = (pct >= rule.moderate_percent).where(judged)
    out["responder_substantial"] = (pct >= rule.substantial_percent).where(judged)
    if rule.mcid is None:
        out["mcid_met"] = None
    else:
        out["mcid_met"] = (out["improvement"].round(9) >= rule.mcid).where(out["baseline"].notna())


def _judged_floats(out: pd.DataFrame, rule: ResponseRule, sign: float) -> None:
    """``judged_rows``' columns of rows whose value and baseline are floats, made by numpy as
    pandas makes them (each operation the same, in the same order; a flag where a judgement is
    missing NaN, the column then of objects, as ``Series.where`` leaves it)."""
    value = out["value"].to_numpy()
    baseline = out["baseline"].to_numpy()
    change = value - baseline
    improvement = sign * change
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # (as pandas: no warning)
        percent = 100 * improvement / np.abs(np.where(baseline != 0, baseline, np.nan))
        # Rounded so an exact 30% (7 -> 4.9) counts despite binary floating point.
        pct = np.round(percent, 9)
        improvement_9 = np.round(improvement, 9)
    judged = ~np.isnan(percent)
    out["change"] = change
    out["improvement"] = improvement
    out["improvement_percent"] = percent
    out["responder_moderate"] = _where(pct >= rule.moderate_percent, judged)
    out["responder_substantial"] = _where(pct >= rule.substantial_percent, judged)
    if rule.mcid is None:
        out["mcid_met"] = None
    else:
        out["mcid_met"] = _where(improvement_9 >= rule.mcid, ~np.isnan(baseline))


def _where(flags: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``pd.Series(flags).where(kept)``'s values: the flags (booleans) when all are kept, else
    objects: True, False, or NaN where not kept."""
    if bool(kept.all()):
        return flags
    out = np.where(flags, True, False).astype(object)
    out[~kept] = np.nan
    return out


def _numbered(index: pd.Index) -> bool:
    """Whether ``index`` is what ``reset_index`` would make: 0, 1, ... n-1."""
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def sort_rows(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame.sort_values(by)`` (two keys or more: a stable sort). Of keys that are numbers or
    dates, none missing (the report's coded ids, cycles, weeks and dates): the frame itself when
    its rows are in that order already (as the report's rows joined by DuckDB come), else the
    rows taken in the order of one stable sort of the keys packed into one number a row
    (``packed_key``; 12 million rows of three keys: a quarter of ``np.lexsort``'s time), or when they do
    not fit of ``np.lexsort`` (stable too: the same order, without sort_values' factorizing of
    every key). Callers must not modify the result in place: it may be ``frame``."""
    order = sort_order(frame, by)
    return frame if order is None else frame.take(order)


def sort_order(frame: pd.DataFrame, by: list[str]) -> np.ndarray | None:
    """The positions of ``frame``'s rows in ``sort_rows``' order; None when they are in it."""
    keys = _plain_keys(frame, by) if len(by) >= 2 else None
    if keys is None:
        positions = frame.reset_index(drop=True).sort_values(by).index.to_numpy()
        return None if bool((positions == np.arange(len(positions))).all()) else positions
    packed = packed_key(keys)
    if packed is not None:  # one number a row: one stable sort, quick on rows nearly in order
        if bool((packed[:-1] <= packed[1:]).all()):
            return None
        return np.argsort(packed, kind="stable")
    ordered = np.ones(max(len(frame) - 1, 0), dtype=bool)  # each row's keys at most the next's
    for k in reversed(keys):
        ordered = (k[:-1] < k[1:]) | ((k[:-1] == k[1:]) & ordered)
    if bool(ordered.all()):
        return None
    return np.lexsort(keys[::-1])


_DAY_NS = 86_400 * 10**9  # a date at midnight, as datetime64[ns]: a whole number of these
_BITS = 63  # a packed key's bits (a non-negative int64)


def packed_key(keys: list[np.ndarray]) -> np.ndarray | None:
    """The keys (``_plain_keys``: numbers, dates as int64; the first the most significant) as one
    int64 a row whose order is theirs, row for row (two rows' numbers equal exactly when all their
    keys are): each key less its least value (a wide one divided by a day when every value is a
    whole number of days: dates at midnight) in bits of its own. None when a number is not whole
    or they need more than 63 bits: sorted by ``np.lexsort`` then."""
    n = len(keys[0]) if keys else 0
    packed = np.zeros(n, dtype=np.int64)
    if not n:
        return packed
    shift = 0
    for k in reversed(keys):
        if k.dtype.kind == "f":
            if not bool(np.isfinite(k).all()):
                return None
            whole = k.astype(np.int64)
            if not bool((whole == k).all()):  # (a fraction, or past int64's range)
                return None
            k = whole
        low, high = int(k.min()), int(k.max())
        if high - low >= 2**_BITS:
            return None
        step = (k - np.int64(low)) if k.dtype.kind == "i" else (k - low).astype(np.int64)
        if high - low >= 2**32 and not bool((step % _DAY_NS).any()):  # (dates at midnight)
            step //= _DAY_NS
            high = low + (high - low) // _DAY_NS
        width = (high - low).bit_length()
        if shift + width > _BITS:
            return None
        if width:
            packed |= step << np.int64(shift)
        shift += width
    return packed


def _plain_keys(frame: pd.DataFrame, by: list[str]) -> list[np.ndarray] | None:
    """The columns ``by`` as arrays of numbers (dates as int64), or None when one is of another
    kind or has a missing value (sorted by sort_values, as it places them)."""
    keys = []
    for c in by:
        k = frame[c].to_numpy()
        if k.dtype.kind == "M" and not np.isnat(k).any():
            k = k.view(np.int64)
        elif k.dtype.kind not in "iuf" or (k.dtype.kind == "f" and np.isnan(k).any()):
            return None
        keys.append(k)
    return keys
