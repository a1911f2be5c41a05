"""The demo loaded by worker processes stores exactly what one process stores."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bontrack.audit.models import AuditEntry
from bontrack.exchange.jsonl import export_lines
from bontrack.storage.engine import transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from bontrack.synth.parallel import PARALLEL_FROM, load_parallel, worker_count
from tests.synth.conftest import ACTOR

PATIENTS = 30
SEED = 6


def _stored(engine: Engine) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Every record version and every audit entry (all columns, in order)."""
    with transaction(engine) as db:
        columns = [c.name for c in AuditEntry.__table__.columns]
        audit = [
            tuple(getattr(a, name) for name in columns)
            for a in db.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]
    with transaction(engine) as db:
        return export_lines(db=db, actor=ACTOR), audit


def test_parallel__same_records_and_audit_as_one_process(engine: Engine, second_engine: Engine) -> None:
    with transaction(engine) as db:
        one = load(db, actor=ACTOR, batches=generate(PATIENTS, seed=SEED))
    with transaction(second_engine) as db:
        # small pieces, so that reads of the clinic repeat across pieces and must be audited once
        several = load_parallel(db, actor=ACTOR, patients=PATIENTS, seed=SEED, workers=2, chunk=7)
    assert several == one
    lines, audit = _stored(engine)
    assert _stored(second_engine) == (lines, audit)
    assert len(lines) > PATIENTS * 10 and any(entry[3] == "read" for entry in audit)


def test_parallel__as_of_a_later_day_the_same_as_one_process(engine: Engine, second_engine: Engine) -> None:
    """The workers' tasks carry the demo's day (`bontrack demo --as-of`): their patients end on it."""
    day = dt.date(2026, 12, 1)
    with transaction(engine) as db:
        one = load(db, actor=ACTOR, batches=generate(PATIENTS, seed=SEED, as_of=day), as_of=day)
    with transaction(second_engine) as db:
        several = load_parallel(db, actor=ACTOR, patients=PATIENTS, seed=SEED, workers=2, chunk=7, as_of=day)
    assert several == one
    lines, audit = _stored(engine)
    assert _stored(second_engine) == (lines, audit)
    last = max(dt.datetime.fromisoformat(json.loads(line)["recorded_at"]).date() for line in lines)
    assert dt.date(2026, 11, 23) < last <= day


@pytest.mark.parametrize(("cpus", "large", "small"), [(1, 1, 1), (2, 2, 1), (3, 3, 1), (8, 4, 1)])
def test_worker_count__one_per_cpu_up_to_four_and_one_for_a_small_clinic(
    monkeypatch: pytest.MonkeyPatch, cpus: int, large: int, small: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)), raising=False)
    assert worker_count(PARALLEL_FROM) == large
    assert worker_count(PARALLEL_FROM - 1) == small
