"""A birth date corrected to after a current record's date is refused (the other side of bug B4's
rule, bontrack.dates.born_after): session 23 checked a corrected birth date against the episodes'
onsets only, so a patient's screening, examination, session, visit, measurement or adverse event
could be left dated before their birth. The service names the earliest such record and its date
(every face shares it); ``bontrack import`` refuses a patient's new version the same way. Real
registries through the real services and command line. The faces: tests/web/test_dates_before_birth_faces.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from bontrack.cli import app
from bontrack.dates import born_after
from bontrack.errors import InputError
from bontrack.patients import service as patients
from bontrack.patients.models import PatientRow
from bontrack.patients.schemas import PatientCreate
from bontrack.screening.schemas import ScreeningCreate
from bontrack.screening.service import create_screening
from bontrack.storage.engine import transaction
from factories import ACTOR, DAY, World, clinic_world, saved_session

BORN = dt.date(1978, 5, 4)  # the factory patient's birth date
ONSET = dt.date(2025, 1, 10)  # the factory episode's pain onset


def _moved(data: PatientCreate, born: dt.date) -> PatientCreate:
    return data.model_copy(update={"birth_date": born})


def _versions(engine: Engine) -> int:
    with transaction(engine) as db:
        return int(db.scalar(select(func.count()).select_from(PatientRow)) or 0)


def test_rule__names_the_earliest_record_its_date_and_how_many_more() -> None:
    day = dt.date(2026, 2, 1)
    assert born_after(day, "screening of 2026-02-01", day) is None  # born that day: allowed
    assert born_after(dt.date(2026, 3, 1), "screening of 2026-02-01", day) == (
        "2026-03-01 is after the date of the patient's screening of 2026-02-01; allowed: on or "
        "before 2026-02-01, or correct or withdraw that record first"
    )
    assert born_after(dt.date(2026, 3, 1), "screening of 2026-02-01", day, 2).startswith(
        "2026-03-01 is after the date of the patient's screening of 2026-02-01 and 2 later records;"
    )


def test_correction__after_a_screening_of_a_patient_with_no_episode_refused(engine: Engine) -> None:
    """No episode (the one kind session 23 looked at): the screenings alone hold the birth date."""
    with transaction(engine) as db:
        world = clinic_world(db)
        patient = patients.create_patient(
            db=db,
            actor=ACTOR,
            clinic_id=world.clinic_id,
            data=PatientCreate(record_number="P-002", name="New Patient", birth_date=BORN, sex="male"),
        )
        for day in (dt.date(2026, 2, 20), dt.date(2026, 2, 1)):
            create_screening(db=db, actor=ACTOR, data=ScreeningCreate(patient_id=patient.id, date=day))
    before = _versions(engine)
    with transaction(engine) as db, pytest.raises(InputError) as caught:
        patients.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=patient.id,
            data=_moved(patient.data, dt.date(2026, 3, 1)),
            reason="year typed wrong",
        )
    [error] = caught.value.errors
    assert error.field == "birth_date"
    assert error.message.startswith(
        "2026-03-01 is after the date of the patient's screening of 2026-02-01 and 1 later record;"
    ), error.message
    assert patient.id not in error.message  # no raw ids
    assert _versions(engine) == before
    # on the earliest record's day, or earlier: saved
    with transaction(engine) as db:
        saved = patients.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=patient.id,
            data=_moved(patient.data, dt.date(2026, 2, 1)),
            reason="the right year",
        )
    assert saved.version == 2


def test_correction__after_the_episodes_onset_and_four_more_records_refused_unchanged(
    engine: Engine,
) -> None:
    """The factory patient's records: the episode (its onset), the screening and examination a
    week before the session, the therapy plan and the session: a birth date the day after the
    session names the earliest and counts the rest."""
    with transaction(engine) as db:
        world: World = clinic_world(db)
        saved_session(db, world)
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
    before = _versions(engine)
    born = DAY + dt.timedelta(days=1)
    with transaction(engine) as db, pytest.raises(InputError) as caught:
        patients.update_patient(
            db=db, actor=ACTOR, patient_id=world.patient_id, data=_moved(patient.data, born), reason="typo"
        )
    [error] = caught.value.errors
    assert (error.field, error.message) == (
        "birth_date",
        f"{born} is after the date of the patient's episode (pain onset date {ONSET}) and 4 later "
        f"records; allowed: on or before {ONSET}, or correct or withdraw those records first",
    )
    assert _versions(engine) == before


def test_correction__an_earlier_birth_date_or_another_field_is_not_judged_again(engine: Engine) -> None:
    with transaction(engine) as db:
        world = clinic_world(db)
        patient = patients.get_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
        earlier = patients.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=world.patient_id,
            data=_moved(patient.data, BORN.replace(year=1970)),
            reason="the right year",
        )
        renamed = patients.update_patient(
            db=db,
            actor=ACTOR,
            patient_id=world.patient_id,
            data=earlier.data.model_copy(update={"name": "Test Patient-Smith"}),
            reason="married name",
        )
    assert renamed.version == 3


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(t) for t in path.read_text().splitlines()]


def test_import__a_patients_new_version_born_after_a_record_in_the_registry_refused(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """The registry holds the patient and their records; a file brings only the patient's next
    version, born after their episode's onset: refused on its line, naming the record, nothing
    written. The same version with a birth date before every record is imported."""
    with transaction(engine) as db:
        clinic_world(db)
    exported = tmp_path / "registry.jsonl"
    assert CliRunner().invoke(app, ["--db", db_url, "export", str(exported)]).exit_code == 0
    (patient,) = [line for line in _lines(exported) if line["type"] == "patient"]
    data = dict(patient["data"])  # type: ignore[call-overload]
    corrected = patient | {
        "version": 2,
        "reason": "year typed wrong",
        "data": data | {"birth_date": "2026-04-01"},
    }
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(corrected) + "\n")
    before = _versions(engine)
    result = CliRunner().invoke(app, ["--db", db_url, "import", str(bad)])
    assert result.exit_code != 0
    words = " ".join(result.output.split())
    assert (
        "line 1, patient: Birth date: 2026-04-01 is after the date of the patient's episode "
        "(pain onset date 2025-01-10) and 3 later records" in words
    ), words
    assert _versions(engine) == before
    good = tmp_path / "good.jsonl"
    fine = corrected | {"data": data | {"birth_date": "1978-05-03"}}
    good.write_text(json.dumps(fine) + "\n")
    result = CliRunner().invoke(app, ["--db", db_url, "import", str(good)])
    assert result.exit_code == 0, result.output
    assert _versions(engine) == before + 1
