"""The report's coded read takes the ids as DuckDB UUIDs (reports.stored_ids.with_id_uuids): the
same frames as a read of their text, and read again as text when an id is not a UUID."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from test_coded_read import _same

from bontrack.injections.models import AdverseEventRow
from bontrack.patients.models import PatientRow
from bontrack.reports import stored_ids
from bontrack.reports.columnar import connect, load_current
from bontrack.reports.columnar_scores import load_scores
from bontrack.reports.data import EVENT_FIELDS, OUTCOME_FIELDS, REFERENCES, cohort_frames
from bontrack.reports.sections.frames import coded
from bontrack.reports.stored_ids import FLAG, NOT_UUID, NotUuid, not_uuid, with_id_uuids
from bontrack.storage.engine import make_engine, open_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from demo_exports import add_copies, copy_of_registry, demo_with_parquet


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("uuid_read")
    demo_with_parquet(folder, patients=30, seed=5)
    return folder


def _flagged(values: list[bytes | str], flags: list[bool]) -> pa.Table:
    """A batch as the driver hands it over: the ids' bytes and whether each was a BLOB."""
    raw = [v.encode() if isinstance(v, str) else v for v in values]
    return pa.table({"id": pa.array(raw, pa.binary()), "id" + FLAG: pa.array(flags, pa.int64())})


def test_sixteen_bytes_become_uuids_and_an_empty_text_a_missing_one() -> None:
    ids = [uuid.UUID(int=random.Random(i).getrandbits(128)) for i in range(5)]
    table = with_id_uuids(_flagged([ids[0].bytes, "", ids[1].bytes, "", ids[2].bytes], [1, 0, 1, 0, 1]))
    assert table.column_names == ["id"]
    assert table.schema.field("id").type == pa.uuid()
    assert table.column("id").to_pylist() == [ids[0], None, ids[1], None, ids[2]]
    every = with_id_uuids(_flagged([u.bytes for u in ids], [1] * 5))
    assert every.column("id").null_count == 0
    assert duckdb.sql("select id::varchar from every").fetchall() == [(str(u),) for u in ids]
    assert with_id_uuids(_flagged([], [])).num_rows == 0


@pytest.mark.parametrize(
    ("values", "flags"),
    [
        (["P-0001"], [0]),  # an id imported as text
        (["0123456789abcdef"], [0]),  # a text of 16 characters is not a UUID's bytes
        ([b"\x01" * 15], [1]),  # a BLOB of another length
        ([uuid.uuid4().bytes, "x"], [1, 0]),
    ],
)
def test_any_other_id_is_not_a_uuid(values: list[bytes | str], flags: list[bool]) -> None:
    with pytest.raises(NotUuid) as raised:
        with_id_uuids(_flagged(values, flags))
    assert not_uuid(raised.value)


def test_duckdb_orders_uuids_as_their_texts() -> None:
    """The codes are the ids' ranks: DuckDB's order of UUIDs must be their texts' (the high bit too)."""
    rng = random.Random(7)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(3000)]
    ids += [uuid.UUID(int=0), uuid.UUID(int=2**127), uuid.UUID(int=2**127 - 1), uuid.UUID(int=2**128 - 1)]
    duck = duckdb.connect()
    duck.register("batch", with_id_uuids(_flagged([u.bytes for u in ids], [1] * len(ids))))
    ordered = duck.sql("select id::varchar from batch order by id").fetchall()
    assert [r[0] for r in ordered] == sorted(str(u) for u in ids)


def test_a_text_that_is_not_a_canonical_uuid_is_an_error_naming_it() -> None:
    duck = duckdb.connect()
    good = str(uuid.uuid4())
    assert duck.sql(f"select {stored_ids.as_uuid(repr(good))}::varchar").fetchall() == [(good,)]
    assert duck.sql(f"select {stored_ids.as_uuid('null')}").fetchall() == [(None,)]
    for text in (good.upper(), good.replace("-", ""), "P-0001"):
        with pytest.raises(duckdb.Error) as raised:
            duck.sql(f"select {stored_ids.as_uuid(repr(text))}").fetchall()
        assert NOT_UUID in str(raised.value) and not_uuid(raised.value)


def test_a_registry_written_by_bontrack_is_read_with_uuids(registry: Path) -> None:
    url = f"sqlite:///{registry / 'clinic.db'}"
    with transaction(make_engine(url)) as db:
        duck = connect()
        load_current(db, PatientRow, None, [], duck=duck, into="patients", committed=True, uuids=True)
        args = {"duck": duck, "committed": True, "uuids": True, "references": REFERENCES}
        load_current(db, AdverseEventRow, None, EVENT_FIELDS, into="events", **args)  # type: ignore[arg-type]
        load_scores(db, None, OUTCOME_FIELDS, duck=duck, into="outcomes", committed=True, uuids=True)
        text = connect()
        load_scores(db, None, OUTCOME_FIELDS, duck=text, into="outcomes", committed=True)
    types = dict(duck.sql("select column_name, column_type from (describe patients)").fetchall())
    assert types["id"] == "UUID"
    events = dict(duck.sql("select column_name, column_type from (describe events)").fetchall())
    assert events["id"] == events["session_id"] == "UUID"
    outcomes = dict(duck.sql("select column_name, column_type from (describe outcomes)").fetchall())
    assert outcomes["patient_id"] == outcomes["session_id"] == "UUID"
    # the same rows as their texts (a missing session id missing in both)
    as_text = "select id::varchar, patient_id::varchar, session_id::varchar, date from outcomes order by id"
    rows = duck.sql(as_text).fetchall()
    assert rows == text.sql(as_text).fetchall()
    assert any(r[2] is None for r in rows) and len(rows) > 100
    with transaction(make_engine(url)) as db:
        assert cohort_frames(db=db, actor="test", committed=True, coded_ids=True).uuid_ids
        assert not cohort_frames(db=db, actor="test", committed=True).uuid_ids  # (ids wanted as text)


def _same_as_text(folder: Path) -> None:
    url = f"sqlite:///{folder}"
    with transaction(make_engine(url)) as db:
        expected = coded(cohort_frames(db=db, actor="test", committed=True))
        frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
    _same(frames, expected, "read again as text")
    assert len(expected.patients) > 0 and not frames.uuid_ids


def test_an_id_imported_as_text_reads_every_id_as_text(registry: Path, tmp_path: Path) -> None:
    copy = copy_of_registry(registry, tmp_path / "text_id.db")
    add_copies(copy, "patient_versions", {"id": "'P-0001'"}, "rowid = 1")
    _same_as_text(copy)


def test_a_reference_not_a_canonical_uuid_reads_every_id_as_text(registry: Path, tmp_path: Path) -> None:
    copy = copy_of_registry(registry, tmp_path / "upper.db")
    changed = {
        "id": f"stored_id('{uuid.UUID(int=np.random.default_rng(3).integers(2**62))}')",
        "data": "json_set(data, '$.session_id', upper(json_extract(data, '$.session_id')))",
    }
    add_copies(copy, "adverse_event_versions", changed, "rowid = 1")
    _same_as_text(copy)


def test_one_clinics_read_with_uuids_is_its_read_with_text(tmp_path: Path) -> None:
    """Two clinics in one registry (the synthetic clinic's batches 0 and 1): each clinic's coded
    read (its filter on the UUIDs) gives what coding its text read gives; a clinic id that is no
    clinic's, UUID or not, reads nothing."""
    engine = open_engine(f"sqlite:///{tmp_path / 'two.db'}")
    for batch in (0, 1):
        with transaction(engine) as db:
            load(db, actor="test:setup", batches=generate(12, seed=8, batch=batch))
    with transaction(engine) as db:
        clinics = sorted({p.clinic_id for p in db.query(PatientRow)})
        assert len(clinics) == 2
        every = cohort_frames(db=db, actor="test", committed=True, coded_ids=True)
        counts = []
        for clinic in clinics:
            expected = coded(cohort_frames(db=db, actor="test", committed=True, clinic_id=clinic))
            frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, clinic_id=clinic)
            _same(frames, expected, f"clinic {clinic}")
            assert frames.uuid_ids
            counts.append(len(frames.patients))
        assert sum(counts) == len(every.patients) and min(counts) > 0
        for nobody in (str(uuid.UUID(int=5)), "no-such-clinic"):
            frames = cohort_frames(db=db, actor="test", committed=True, coded_ids=True, clinic_id=nobody)
            assert len(frames.patients) == len(frames.sessions) == len(frames.adverse_events) == 0
    engine.dispose()
