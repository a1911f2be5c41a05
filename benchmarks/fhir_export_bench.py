"""FHIR Bulk Data $export against `bontrack export` (JSON Lines) on the same registry, same run.

    python benchmarks/fhir_export_bench.py [PATIENTS]      (default 1,000; the issue's figure: 10,000)

The registry is a synthetic clinic (`bontrack demo --patients PATIENTS --seed 4`), built once into
benchmarks/artifacts/. Both exports run in this process, one after the other, each in its own
transactions on the same file: `bontrack export`'s own code (exchange.jsonl.export_lines, every
record version as one line), then a system-level $export job (fhir.bulk: every current record read
through the clinic-scoped services, audited, mapped, validated with fhir.resources and written as
NDJSON). Printed: records (lines) and records per second of each, and the ratio. Aim: $export
within 2x of `bontrack export` in records/s.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from bontrack.actor import Actor
from bontrack.exchange.jsonl import export_lines
from bontrack.fhir import bulk
from bontrack.storage.engine import open_engine, transaction

ARTIFACTS = Path(__file__).parent / "artifacts"
AIM = 2.0
DEMO = ("--seed", "4", "--patients")


def registry(patients: int) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"fhir-export-{patients}.db"
    if not path.exists():
        building = path.with_name(path.name + ".building")
        building.unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "bontrack", "--db", f"sqlite:///{building}", "demo", *DEMO, str(patients)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        building.replace(path)
    return path


def main(patients: int) -> None:
    source = registry(patients)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "bench.db"
        shutil.copyfile(source, copy)
        engine = open_engine(f"sqlite:///{copy}")

        start = time.perf_counter()
        with transaction(engine) as db:
            lines = export_lines(db=db, actor="bench:export", destination="bench.jsonl")
        (Path(folder) / "bench.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        jsonl_s = time.perf_counter() - start
        jsonl_n = len(lines)

        fhir: dict[str, tuple[int, float]] = {}
        for validation in ("shapes", "all"):
            fhir[validation] = fhir_export(engine, Path(folder) / f"fhir-{validation}", validation)
        engine.dispose()

    jsonl_rate = jsonl_n / jsonl_s
    print(f"registry: {patients:,} synthetic patients")
    print(
        f"bontrack export (JSON Lines): {jsonl_n:,} record versions in {jsonl_s:.1f} s = {jsonl_rate:,.0f}/s"
    )
    for validation, (fhir_n, fhir_s) in fhir.items():
        rate = fhir_n / fhir_s
        ratio = jsonl_rate / rate
        verdict = "within" if ratio <= AIM else "NOT within"
        print(
            f"FHIR $export, validating {validation:6}: {fhir_n:,} resources in {fhir_s:.1f} s "
            f"= {rate:,.0f}/s; "
            f"{ratio:.1f}x bontrack export's time per record: {verdict} the {AIM:g}x aim"
        )


def fhir_export(engine: Engine, root: Path, validation: bulk.Validation) -> tuple[int, float]:
    start = time.perf_counter()
    job_id = bulk.start(
        root=root,
        engine=engine,
        actor=Actor("bench:fhir-export", clinic_id=None, role="admin"),
        request=bulk.Request(bulk.SYSTEM_LEVEL_TYPES, None, "system"),
        request_url="bench",
        file_base="bench",
        deidentify_key=None,
        now=dt.datetime(2026, 12, 1),
        wait=True,
        validation=validation,
    )
    seconds = time.perf_counter() - start
    status = bulk.Job(root / job_id).status()
    assert status["state"] == "done", status
    return sum(o["count"] for o in status["output"]), seconds


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
