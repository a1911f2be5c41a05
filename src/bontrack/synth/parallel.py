"""The demo clinic loaded with several processes: the same records and audit entries as ``load``.

The main process writes the clinic and its staff through the services, in its bulk block. Worker
processes each take a range of patient numbers, generate those patients and run them through
the same services (decision engine, scoring, audit) inside a bulk block of their own; instead of
writing, they hand back the rows and audit entries. The main process adds them to its block in
patient order (``BulkWriter.merge``, which keeps the rule of one read entry per actor, record,
version and purpose across the whole load) and inserts them, all in the caller's one transaction.
Then it writes the clinic's stock, derived from what the workers' sessions opened (summed in
their summaries), as ``load`` does.

Why the result is the same as ``load(generate(...))``: every patient's records depend only on the
seed, the clinic and the patient's number (each patient has its own random stream, ids and
clock); a patient's service calls read only that patient's records and the clinic's, which every
worker writes again in its own block before its patients (and discards). The rows of each table
and the audit entries reach the database in the same order as in one process. A test compares
the two byte for byte.

A worker never reads the registry: its session is bound to an empty scratch database that
refuses every statement, so a future service that needed the registry would fail here loudly
instead of answering differently.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from bontrack.records import ids_from
from bontrack.storage.bulk import bulk
from bontrack.storage.times import recorded_by_clock
from bontrack.synth.generator import clinic_items, patient_items
from bontrack.synth.loader import DemoSummary, Pending, write_batch, write_stock

#: Below this many patients one process is quicker than starting workers.
PARALLEL_FROM = 2_000
#: Patients per piece of work handed to a worker.
CHUNK = 100


@dataclass(frozen=True)
class Task:
    actor: str
    seed: int
    batch: int
    first: int
    last: int
    as_of: dt.date | None = None  # the demo's day (None: the calibrated one)


@dataclass
class Part:
    """What a worker made for one range of patients."""

    rows: dict[type[Any], list[dict[str, Any]]]
    audit: list[dict[str, Any]]
    summary: DemoSummary
    patients: int


def worker_count(patients: int) -> int:
    """Processes to use: one below PARALLEL_FROM patients or on one CPU, else one per CPU (max 4)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if patients < PARALLEL_FROM or cpus < 2 else min(cpus, 4)


def _refuse(*_args: Any) -> None:
    raise RuntimeError("a demo worker must not read or write the registry (see bontrack.synth.parallel)")


_scratch: Engine | None = None


def _scratch_engine() -> Engine:
    global _scratch
    if _scratch is None:
        _scratch = create_engine("sqlite://")
        event.listen(_scratch, "before_cursor_execute", _refuse)
    return _scratch


def load_part(task: Task) -> Part:
    """In a worker: the records and audit entries of patients ``first`` to ``last``."""
    staff, clinic = clinic_items(task.seed, task.batch, as_of=task.as_of)
    summary = DemoSummary()
    pending = Pending()
    with Session(_scratch_engine()) as db:
        with bulk(db) as writer, ids_from(pending.take_id), recorded_by_clock(pending.now):
            write_batch(db, task.actor, clinic, DemoSummary(), pending)
            writer.take()  # the clinic and staff: the main process writes them
            for number in range(task.first, task.last + 1):
                batch = patient_items(number, seed=task.seed, staff=staff, batch=task.batch, as_of=task.as_of)
                write_batch(db, task.actor, batch, summary, pending)
            rows, audit = writer.take()
        db.rollback()
    return Part(rows=rows, audit=audit, summary=summary, patients=task.last - task.first + 1)


def load_parallel(
    db: Session,
    *,
    actor: str,
    patients: int,
    seed: int,
    batch: int = 0,
    workers: int,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    as_of: dt.date | None = None,
) -> DemoSummary:
    """Write the clinic and ``patients`` patients into the caller's transaction, using ``workers``
    processes; the result equals ``load(db, batches=generate(patients, seed=seed, batch=batch,
    as_of=as_of), as_of=as_of)``."""
    summary = DemoSummary()
    pending = Pending()
    _staff, clinic = clinic_items(seed, batch, as_of=as_of)
    tasks = [
        Task(actor, seed, batch, first, min(first + chunk - 1, patients), as_of)
        for first in range(1, patients + 1, chunk)
    ]
    # spawn, not fork: the caller may run threads (the progress bar) that fork would copy mid-step
    context = multiprocessing.get_context("spawn")
    with bulk(db) as writer, ids_from(pending.take_id), recorded_by_clock(pending.now):
        write_batch(db, actor, clinic, summary, pending)
        with context.Pool(workers) as pool:
            for part in pool.imap(load_part, tasks):
                writer.merge(part.rows, part.audit)
                writer.write_out(db)  # insert while the workers go on; memory stays bounded
                summary.add(part.summary)
                if progress is not None:
                    progress(part.patients)
    write_stock(db, actor, summary, as_of=as_of)
    return summary
