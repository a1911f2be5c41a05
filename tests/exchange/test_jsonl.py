"""JSON Lines export and import: exact round trip, idempotent, all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from bontrack.audit.models import AuditEntry
from bontrack.cli import app
from bontrack.errors import InputError
from bontrack.exchange.jsonl import export_lines, import_lines
from bontrack.exchange.tabular import export_csv
from bontrack.kinds import KINDS
from bontrack.patients import service as patients
from bontrack.storage.engine import open_engine, transaction
from factories import ACTOR, clinic_world, saved_session


def _filled(engine: Engine) -> list[str]:
    """A registry with corrections and a withdrawal; returns its export."""
    with transaction(engine) as db:
        world = clinic_world(db)
        saved_session(db, world)
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        patients.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=patient.id,
            data=patient.data.model_copy(update={"name": "Ní Bhriain"}),
            reason="spelling",
        )
        other = patients.create_patient(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=patient.data.model_copy(update={"record_number": "P-002"}),
        )
        patients.withdraw_patient(db=db, actor=ACTOR, patient_id=other.id, reason="duplicate")
    with transaction(engine) as db:
        return export_lines(db=db, actor=ACTOR)


def _fresh(tmp_path: Path, name: str = "fresh.db") -> Engine:
    return open_engine(f"sqlite:///{tmp_path / name}")


def _imported(
    tmp_path: Path, lines: list[str], name: str = "fresh.db", batch: int | None = None
) -> tuple[Engine, int]:
    """A fresh registry with ``lines`` imported (in batches of ``batch``), and how many were new."""
    target = _fresh(tmp_path, name)
    options = {} if batch is None else {"batch": batch}
    with transaction(target) as db:
        added = import_lines(db=db, actor=ACTOR, lines=lines, **options)
    return target, added


def _audit_count(engine: Engine) -> int:
    with transaction(engine) as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_export__every_version_one_typed_object_per_line(engine: Engine) -> None:
    lines = _filled(engine)
    objects = [json.loads(line) for line in lines]
    assert {o["type"] for o in objects} <= {k.name for k in KINDS}
    patient_versions = sorted(
        (o["data"]["record_number"], o["version"], o["withdrawn"]) for o in objects if o["type"] == "patient"
    )
    assert patient_versions == [
        ("P-001", 1, False),
        ("P-001", 2, False),
        ("P-002", 1, False),
        ("P-002", 2, True),
    ]


def test_round_trip__export_import_export_gives_same_lines(engine: Engine, second_engine: Engine) -> None:
    lines = _filled(engine)
    with transaction(second_engine) as db:
        assert import_lines(db=db, actor=ACTOR, lines=lines) == len(lines)
    with transaction(second_engine) as db:
        assert export_lines(db=db, actor=ACTOR) == lines


def test_round_trip__across_engines_gives_same_lines(engine: Engine, tmp_path: Path) -> None:
    lines = _filled(engine)
    target, _added = _imported(tmp_path, lines)
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == lines


def test_import__same_file_twice_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    lines = _filled(engine)
    target, _added = _imported(tmp_path, lines)
    with transaction(target) as db:
        assert import_lines(db=db, actor=ACTOR, lines=lines) == 0
        assert export_lines(db=db, actor=ACTOR) == lines


def test_import__one_bad_line_imports_nothing_and_names_line_and_field(
    engine: Engine, tmp_path: Path
) -> None:
    lines = _filled(engine)
    bad = json.loads(lines[5])
    assert bad["type"] == "patient"
    bad["data"]["birth_date"] = "05/04/1978"
    lines[5] = json.dumps(bad)
    target = _fresh(tmp_path)
    with pytest.raises(InputError) as info, transaction(target) as db:
        import_lines(db=db, actor=ACTOR, lines=lines)
    assert [str(e) for e in info.value.errors] == [
        "line 6, patient: Birth date must be a date written YYYY-MM-DD; '05/04/1978' was given"
    ]
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == []


def test_import__changed_content_of_existing_version_is_refused(engine: Engine) -> None:
    lines = _filled(engine)
    changed = json.loads(lines[0])
    changed["data"]["name"] = "Renamed Clinic"
    with pytest.raises(InputError) as info, transaction(engine) as db:
        import_lines(db=db, actor=ACTOR, lines=[json.dumps(changed)])
    (error,) = info.value.errors
    assert error.field == "line 1, clinic" and "version 1 exists with other content" in error.message


def test_import__reference_to_missing_record_is_refused(tmp_path: Path, engine: Engine) -> None:
    lines = [line for line in _filled(engine) if json.loads(line)["type"] != "patient"]
    with pytest.raises(InputError) as info, transaction(_fresh(tmp_path)) as db:
        import_lines(db=db, actor=ACTOR, lines=lines)
    assert any(
        e.field.endswith(", episode") and e.message.startswith("Patient id names no patient '")
        for e in info.value.errors
    )


def test_import__unknown_type_names_allowed_types(tmp_path: Path) -> None:
    line = json.dumps({"type": "invoice", "id": "x"})
    with pytest.raises(InputError) as info, transaction(_fresh(tmp_path)) as db:
        import_lines(db=db, actor=ACTOR, lines=[line])
    (first, *_) = info.value.errors
    assert first.field == "line 1" and first.message.startswith("Record type must be one of: clinic, ")
    assert first.message.endswith("; 'invoice' was given")


def test_import_command__bad_json_exits_2_and_leaves_registry_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    lines = _filled(engine)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([*lines[:3], "{not json", *lines[3:]]) + "\n")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(app, ["--db", url, "import", str(source)])
    assert result.exit_code == 2
    assert "line 4" in result.stderr and "Traceback" not in result.output + result.stderr
    target = open_engine(url)
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == []


def test_export_command__jsonl_then_import_command_round_trips(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    _filled(engine)
    runner = CliRunner()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    assert runner.invoke(app, ["--db", db_url, "export", str(first)]).exit_code == 0
    assert runner.invoke(app, ["--db", copy, "import", str(first)]).exit_code == 0
    assert runner.invoke(app, ["--db", copy, "export", str(second)]).exit_code == 0
    assert first.read_text() == second.read_text() != ""


def test_export__is_audited_once(engine: Engine) -> None:
    lines = _filled(engine)
    before = _audit_count(engine)
    with transaction(engine) as db:
        export_lines(db=db, actor="researcher")
    assert len(lines) > 1 and _audit_count(engine) == before + 1


def test_export_csv__one_file_per_type_and_a_dictionary(engine: Engine, tmp_path: Path) -> None:
    _filled(engine)
    with transaction(engine) as db:
        files = export_csv(db=db, actor=ACTOR, folder=tmp_path / "csv")
    names = {f.name for f in files}
    assert names == {f"{k.name}.csv" for k in KINDS} | {"data_dictionary.csv"}
    with (tmp_path / "csv" / "patient.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["version"] for r in rows if r["record_number"] == "P-001") == ["1", "2"]
    with (tmp_path / "csv" / "data_dictionary.csv").open() as f:
        dictionary = {(r["file"], r["column"]): r for r in csv.DictReader(f)}
    for kind in KINDS:
        with (tmp_path / "csv" / f"{kind.name}.csv").open() as f:
            header = next(csv.reader(f))
        assert all((f"{kind.name}.csv", column) in dictionary for column in header)
    assert dictionary[("patient.csv", "sex")]["allowed"] == "female; male; other; unknown"


def _import_command(tmp_path: Path, text: str) -> tuple[int, str, str]:
    """Run `bontrack import` of ``text`` into a new registry: exit code, stderr, and its export."""
    source = tmp_path / "in.jsonl"
    source.write_text(text)
    url = f"sqlite:///{tmp_path / 'target.db'}"
    result = CliRunner().invoke(app, ["--db", url, "import", str(source)])
    with transaction(open_engine(url)) as db:
        written = "\n".join(export_lines(db=db, actor=ACTOR))
    return result.exit_code, result.stderr, written


@pytest.mark.parametrize("text", ["", "   \n\t\n", "\n\n\n"], ids=["empty", "whitespace", "blank-lines"])
def test_import_command__a_file_without_records_exits_2_and_writes_nothing(tmp_path: Path, text: str) -> None:
    code, stderr, written = _import_command(tmp_path, text)
    assert code == 2
    assert f"{tmp_path / 'in.jsonl'}: holds no records" in stderr and "Traceback" not in stderr
    assert "(file)" not in stderr  # the file named as given, not a placeholder
    assert written == ""


@pytest.mark.parametrize("version", ["1", 1.5, True, None], ids=["string", "fraction", "bool", "null"])
def test_import_command__a_version_that_is_not_an_integer_exits_2_and_writes_nothing(
    engine: Engine, tmp_path: Path, version: object
) -> None:
    lines = _filled(engine)
    first = json.loads(lines[0])
    assert first["version"] == 1
    changed = json.dumps(first | {"version": version})
    code, stderr, written = _import_command(tmp_path, "\n".join([changed, *lines[1:]]) + "\n")
    assert code == 2
    assert "line 1, clinic: Version must be a whole number; " in stderr
    assert written == ""


def test_import__a_bad_last_line_after_batches_were_written_leaves_nothing(
    engine: Engine, second_engine: Engine
) -> None:
    """Batches of two lines are written as they are checked; the last line's error rolls them
    all back, with their audit entries."""
    lines = _filled(engine)
    last = json.loads(lines[-1])
    last["data"]["no_such_field"] = 1
    before = _audit_count(second_engine)
    with pytest.raises(InputError) as info, transaction(second_engine) as db:
        import_lines(db=db, actor=ACTOR, lines=[*lines[:-1], json.dumps(last)], batch=2)
    (error,) = info.value.errors
    assert error.field.startswith(f"line {len(lines)}, ")
    assert error.message.startswith("No such field is not a field of ")
    with transaction(second_engine) as db:
        assert export_lines(db=db, actor=ACTOR) == []
    assert _audit_count(second_engine) == before + 1  # the export's entry just above, no import's
    with transaction(second_engine) as db:  # the same lines, good, in batches of two: all written
        assert import_lines(db=db, actor=ACTOR, lines=lines, batch=2) == len(lines)
    with transaction(second_engine) as db:
        assert export_lines(db=db, actor=ACTOR) == lines


def test_import__a_reference_to_a_record_later_in_the_file_is_found(engine: Engine, tmp_path: Path) -> None:
    """The children first, their patients at the end, in batches of two: nothing is refused."""
    lines = _filled(engine)
    patients_last = sorted(lines, key=lambda line: json.loads(line)["type"] == "patient")
    assert patients_last != lines
    target, added = _imported(tmp_path, patients_last, batch=2)
    assert added == len(lines)
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == lines


def test_import__the_same_version_twice_in_one_file_with_other_content_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    lines = _filled(engine)
    changed = json.loads(lines[0])
    changed["data"]["name"] = "Renamed Clinic"
    target = _fresh(tmp_path)
    with pytest.raises(InputError) as info, transaction(target) as db:
        import_lines(db=db, actor=ACTOR, lines=[*lines, lines[0], json.dumps(changed)], batch=2)
    assert [e.field for e in info.value.errors] == [f"line {len(lines) + 2}, clinic"]
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == []


def test_export_command__gz_is_compressed_and_imports_back(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    import gzip

    lines = _filled(engine)
    runner = CliRunner()
    packed, plain = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl"
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    assert runner.invoke(app, ["--db", db_url, "export", str(packed)]).exit_code == 0
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed.read_bytes()).decode().splitlines() == lines
    assert runner.invoke(app, ["--db", copy, "import", str(packed)]).exit_code == 0
    again = runner.invoke(app, ["--db", copy, "import", str(packed)])  # idempotent
    assert again.exit_code == 0 and "nothing new" in again.output
    assert runner.invoke(app, ["--db", copy, "export", str(plain)]).exit_code == 0
    assert plain.read_text().splitlines() == lines


@pytest.mark.parametrize("damage", ["cut", "garbled"])
def test_import_command__a_damaged_gz_exits_2_and_writes_nothing(
    engine: Engine, db_url: str, tmp_path: Path, damage: str
) -> None:
    lines = _filled(engine)
    packed = tmp_path / "a.jsonl.gz"
    assert CliRunner().invoke(app, ["--db", db_url, "export", str(packed)]).exit_code == 0
    data = packed.read_bytes()
    if damage == "cut":  # the first lines read well, then the file ends
        packed.write_bytes(data[: len(data) * 2 // 3])
        expected = "cut short"
    else:
        packed.write_bytes(data[:2] + b"\x63" + data[3:])  # an unknown compression method
        expected = "damaged"
    url = f"sqlite:///{tmp_path / 'target.db'}"
    result = CliRunner().invoke(app, ["--db", url, "import", str(packed)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output + result.stderr
    with transaction(open_engine(url)) as db:
        assert export_lines(db=db, actor=ACTOR) == []
    assert len(lines) > 1


def test_import_command__sqlite_registry_keeps_its_write_ahead_log(engine: Engine, tmp_path: Path) -> None:
    """The import writes with a rollback journal (see make_engine's bulk_load); afterwards the
    file is in write-ahead-log mode again, whether the import succeeded or failed."""
    import sqlite3

    lines = _filled(engine)
    target = tmp_path / "target.db"
    for text in ("\n".join(lines) + "\n", "{not json\n"):
        source = tmp_path / "in.jsonl"
        source.write_text(text)
        CliRunner().invoke(app, ["--db", f"sqlite:///{target}", "import", str(source)])
        with sqlite3.connect(target) as con:
            assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    with transaction(open_engine(f"sqlite:///{target}")) as db:
        assert export_lines(db=db, actor=ACTOR) == lines


def test_export__sqlite_reads_through_a_read_transaction_beside_a_writer(engine: Engine, db_url: str) -> None:
    """As the export command reads a SQLite registry (a read-only engine on the same file, its
    audit entry written by the primary's transaction): midway through the export, a clinic's
    writer takes the write lock at once and commits; the export reads on from its snapshot."""
    import sqlite3

    from bontrack.exchange.jsonl import stream_lines, write_export
    from bontrack.storage.engine import make_engine
    from bontrack.storage.replica import read_session

    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    lines = _filled(engine)
    before = _audit_count(engine)
    reader = make_engine(db_url, read_only=True)
    with transaction(engine) as audited, read_session(reader, audited, None) as db:
        read = stream_lines(db, {})
        first = next(read)  # the read transaction is open
        writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
        writer.execute("BEGIN IMMEDIATE")  # "database is locked" if the export held the lock
        writer.execute("COMMIT")
        writer.close()
        assert [first, *read] == lines
        buffer = io.StringIO()
        write_export(db=db, actor=ACTOR, out=buffer)
    reader.dispose()
    assert buffer.getvalue().splitlines() == lines
    assert _audit_count(engine) == before + 1


def test_import__the_imported_patients_due_items_are_derived(engine: Engine, tmp_path: Path) -> None:
    """The patients touched are kept in the stage and their due items derived in parts before the
    commit: the same items as deriving them again from scratch."""
    from bontrack.scheduling.due import TABLE, rebuild

    lines = _filled(engine)
    target, _added = _imported(tmp_path, lines, batch=2)
    with transaction(target) as db:
        kept = sorted(tuple(row) for row in db.execute(select(TABLE)))
        rebuild(db)
        again = sorted(tuple(row) for row in db.execute(select(TABLE)))
    assert kept and kept == again


def test_import__control_characters_are_refused_naming_line_and_field(engine: Engine, tmp_path: Path) -> None:
    lines = _filled(engine)
    patient_lines = [n for n, line in enumerate(lines) if json.loads(line)["type"] == "patient"]
    first, corrected = patient_lines[0], patient_lines[1]
    bad = json.loads(lines[first])
    bad["data"]["name"] = "Test\x00Patient\x07"
    lines[first] = json.dumps(bad)
    envelope = json.loads(lines[corrected])
    envelope["reason"] = "spelling\x1b[2J"
    lines[corrected] = json.dumps(envelope)
    target = _fresh(tmp_path)
    with pytest.raises(InputError) as info, transaction(target) as db:
        import_lines(db=db, actor=ACTOR, lines=lines)
    named, *others = info.value.errors  # (the records of the refused patient then refer to none)
    refused = [named, *(e for e in others if "control character" in e.message)]
    assert [e.field for e in refused] == [f"line {first + 1}, patient", f"line {corrected + 1}, patient"]
    assert named.message.startswith("Name must not contain an invisible control character")
    assert "found U+0000 at character 5" in named.message
    assert named.message.endswith("; 'Test\\x00Patient\\x07' was given")
    assert refused[1].message.startswith("Reason must not contain")
    with transaction(target) as db:
        assert export_lines(db=db, actor=ACTOR) == []


def _new_patient_line(lines: list[str], number: str, record_id: str) -> str:
    """A new patient of the first patient's clinic with ``number``."""
    first = next(json.loads(line) for line in lines if json.loads(line)["type"] == "patient")
    first["id"], first["version"], first["withdrawn"], first["reason"] = record_id, 1, False, None
    first["data"]["record_number"] = number
    return json.dumps(first)


def test_import__a_record_number_in_another_case_is_refused_in_the_file_and_against_the_registry(
    engine: Engine, tmp_path: Path
) -> None:
    lines = _filled(engine)
    twin = _new_patient_line(lines, "p-001", "00000000-0000-4000-8000-0000000000aa")
    with pytest.raises(InputError) as info, transaction(_fresh(tmp_path)) as db:
        import_lines(db=db, actor=ACTOR, lines=[*lines, twin])
    (error,) = info.value.errors
    assert error.field == f"line {len(lines) + 1}, patient"
    assert error.message.startswith("Record number: 'p-001' is already used")
    assert "'p-001' is already used by another patient of this clinic (line" in error.message
    assert "(written 'P-001')" in error.message
    target, _added = _imported(tmp_path, lines, "second.db")
    with pytest.raises(InputError) as info, transaction(target) as db:
        import_lines(db=db, actor=ACTOR, lines=[twin])
    (error,) = info.value.errors
    assert error.field == "line 1, patient" and "in the registry" in error.message
    # the withdrawn P-002's number is free; another clinic's patient may have P-001
    free = _new_patient_line(lines, "p-002", "00000000-0000-4000-8000-0000000000bb")
    with transaction(target) as db:
        assert import_lines(db=db, actor=ACTOR, lines=[free]) == 1
