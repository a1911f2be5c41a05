"""`bontrack fhir import` as a user runs it (a real process, SQLite), and the engine's next
decision for the imported patient, judged through the injection service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select

from bontrack.injections.service import judge
from bontrack.patients import service as patients
from bontrack.patients.models import EpisodeRow, PatientRow
from bontrack.patients.schemas import ClinicCreate
from bontrack.screening.models import ScreeningRow
from bontrack.storage.engine import open_engine, transaction
from factories import ACTOR, World, clinic_world, session_input

BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "fhir" / "ehr_patient_bundle.json"


def bontrack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bontrack", *args], capture_output=True, text=True, check=False
    )


def registry(tmp_path: Path) -> tuple[str, Engine, World]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = open_engine(url)
    with transaction(engine) as db:
        world = clinic_world(db)
    return url, engine, world


def counts(engine: Engine) -> list[int]:
    with transaction(engine) as db:
        return [
            int(db.scalar(select(func.count()).select_from(row)) or 0)
            for row in (PatientRow, EpisodeRow, ScreeningRow)
        ]


def test_cli__imports_the_bundle_and_the_engine_sees_the_anticoagulant(tmp_path: Path) -> None:
    url, engine, world = registry(tmp_path)
    result = bontrack("--db", url, "fhir", "import", str(BUNDLE))
    assert result.returncode == 0, result.stderr
    assert "EHR-40417" in result.stdout and "created" in result.stdout
    assert "Bundle.entry[7]: not imported: the statement's status is stopped" in result.stdout
    with transaction(engine) as db:
        [patient] = [
            p
            for p in patients.list_patients(db=db, actor=ACTOR, clinic_id=world.clinic_id)
            if p.data.record_number == "EHR-40417"
        ]
        [episode] = patients.episodes_of_patient(db=db, actor=ACTOR, patient_id=patient.id)
        plan = session_input(world).model_copy(update={"patient_id": patient.id, "episode_id": episode.id})
        _record, decision = judge(db=db, actor=ACTOR, data=plan)
    found = {f.code: f.message for f in decision.findings}
    assert "apixaban" in found["medication.anticoagulants"]
    assert decision.decision == "warn"

    before = counts(engine)
    again = bontrack("--db", url, "fhir", "import", str(BUNDLE))
    assert again.returncode == 0, again.stderr
    assert counts(engine) == before  # the same file twice: nothing new
    assert "unchanged" in again.stdout
    engine.dispose()


def test_cli__bad_bundle_exits_2_naming_the_element(tmp_path: Path) -> None:
    url, engine, _world = registry(tmp_path)
    doc = json.loads(BUNDLE.read_text())
    del doc["entry"][2]["resource"]["code"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    before = counts(engine)
    result = bontrack("--db", url, "fhir", "import", str(bad))
    assert result.returncode == 2
    assert "Bundle.entry[2].resource.code" in result.stderr and "Nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert counts(engine) == before
    not_json = tmp_path / "not.json"
    not_json.write_text("{")
    assert bontrack("--db", url, "fhir", "import", str(not_json)).returncode == 2
    engine.dispose()


def test_cli__several_clinics_need_clinic(tmp_path: Path) -> None:
    url, engine, world = registry(tmp_path)
    with transaction(engine) as db:
        patients.create_clinic(db=db, actor=ACTOR, data=ClinicCreate(name="Eastside Spine"))
    result = bontrack("--db", url, "fhir", "import", str(BUNDLE))
    assert result.returncode == 2 and "--clinic" in result.stderr
    chosen = bontrack("--db", url, "fhir", "import", "--clinic", world.clinic_id, str(BUNDLE))
    assert chosen.returncode == 0, chosen.stderr
    engine.dispose()


def test_cli__a_lone_patient(tmp_path: Path) -> None:
    url, engine, _world = registry(tmp_path)
    patient = json.loads(BUNDLE.read_text())["entry"][0]["resource"]
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    result = bontrack("--db", url, "fhir", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert counts(engine) == [2, 1, 1]  # the world's patient, episode and screening, and this patient
    engine.dispose()
