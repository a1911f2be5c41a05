"""FHIR Bulk Data export ($export): kick-off, status polling, NDJSON files.

A kick-off starts a job in a background thread of this process; it reads through the same
clinic-scoped services as every other read (audited), a few hundred patients per transaction so
other requests take turns with it, and writes one NDJSON file per resource type into the job's
folder. The job's state is a JSON file beside them, so any worker process that shares the folder
can answer a status poll. Only the user who started a job may poll it, fetch its files or cancel it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import Engine

from bontrack.actor import Actor
from bontrack.fhir.deidentify import Deidentifier
from bontrack.fhir.mapping import Resource, validate
from bontrack.fhir.outcome import FhirError, Issue, shown
from bontrack.fhir.sources import PATIENT_TYPES, Reader
from bontrack.storage.engine import transaction
from bontrack.storage.replica import read_session
from bontrack.storage.row_security import limit_to_clinic

logger = logging.getLogger(__name__)
EXPORT_DIR_ENV = "BONTRACK_FHIR_EXPORT_DIR"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PATIENT_LEVEL_TYPES = ("Patient", *PATIENT_TYPES)
SYSTEM_LEVEL_TYPES = (*PATIENT_LEVEL_TYPES, "Practitioner", "Organization", "Questionnaire")
KICK_OFF_PARAMS = ("_outputFormat", "_type", "_since")
PATIENTS_PER_TRANSACTION = 200
KEPT_FOR = dt.timedelta(hours=24)  # a job's files (patient data) are deleted a day after it started
STATUS = "status.json"
# How an export validates with fhir.resources: "shapes" validates the first resource of every
# distinct structure (the same elements, nesting and kinds of value) and trusts the rest built by
# the same mapping from already-validated records (validation costs about 1 ms a resource, three
# quarters of an export's time); "all" validates every resource, as reads and searches do.
Validation = Literal["shapes", "all"]


def export_root(configured: str | os.PathLike[str] | None = None) -> Path:
    """Where jobs keep their files: given, else $BONTRACK_FHIR_EXPORT_DIR, else the temp folder."""
    chosen = configured or os.environ.get(EXPORT_DIR_ENV)
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / "bontrack-fhir-export"


@dataclass(frozen=True)
class Request:
    """A checked kick-off: the types to export and the earliest change wanted."""

    types: tuple[str, ...]
    since: dt.datetime | None
    level: str  # "system" or "patient"


def parse_kick_off(
    params: Iterable[tuple[str, str]], prefer: str | None, level: str, *, deidentified: bool = False
) -> Request:
    """The kick-off's parameters checked, every problem at once (400). ``deidentified`` (a
    researcher's export): ``_since`` is refused, as ``_lastUpdated`` is on the searches: repeated
    exports since one instant and the next would date each change exactly."""
    given = list(params)
    allowed_types = SYSTEM_LEVEL_TYPES if level == "system" else PATIENT_LEVEL_TYPES
    issues = [
        Issue(
            f"unknown $export parameter {shown(k)}; supported: {', '.join(KICK_OFF_PARAMS)}",
            "not-supported",
            k,
        )
        for k, _v in given
        if k not in KICK_OFF_PARAMS
    ]
    if "respond-async" not in (prefer or ""):
        issues.append(
            Issue("a Bulk Data kick-off needs the header 'Prefer: respond-async'", "invalid", "Prefer")
        )
    fmt = [v for k, v in given if k == "_outputFormat"]
    if fmt and fmt[-1] not in OUTPUT_FORMATS:
        issues.append(
            Issue(f"_outputFormat must be one of {', '.join(OUTPUT_FORMATS)}", "invalid", "_outputFormat")
        )
    types: list[str] = []
    for value in (v for k, v in given if k == "_type"):
        for t in (x.strip() for x in value.split(",") if x.strip()):
            if t not in allowed_types:
                issues.append(
                    Issue(
                        f"_type {shown(t)} cannot be exported here; allowed: {', '.join(allowed_types)}",
                        "invalid",
                        "_type",
                    )
                )
            types.append(t)
    since = None
    for value in (v for k, v in given if k == "_since"):
        if deidentified:
            issues.append(
                Issue(
                    "_since cannot be used on de-identified data: the times records were saved are "
                    "exact dates, and dates are given to the year only; export everything instead",
                    "not-supported",
                    "_since",
                )
            )
            break
        try:
            since = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if since.tzinfo is not None:
                since = since.astimezone(dt.UTC).replace(tzinfo=None)
        except ValueError:
            issues.append(
                Issue(
                    f"_since must be a FHIR instant (2026-01-31T00:00:00Z), got {shown(value)}",
                    "invalid",
                    "_since",
                )
            )
    if issues:
        raise FhirError(400, issues)
    return Request(tuple(dict.fromkeys(types)) or allowed_types, since, level)


@dataclass(frozen=True)
class Job:
    """A started export: its folder and who may read it."""

    folder: Path

    @property
    def status_file(self) -> Path:
        return self.folder / STATUS

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.status_file.read_text(encoding="utf-8"))
        return data

    def write_status(self, **changes: Any) -> None:
        data = self.status() if self.status_file.exists() else {}
        data.update(changes)
        temporary = self.folder / f".{STATUS}.tmp"
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self.status_file)  # a poll never reads half a file


def find_job(root: Path, job_id: str, owner: str) -> Job:
    """The job of this id started by ``owner``; 404 otherwise (another user's job is not told)."""
    folder = root / job_id
    job = Job(folder)
    if not (job_id.isalnum() and job.status_file.exists()) or job.status().get("owner") != owner:
        raise FhirError(404, [Issue(f"no export job {shown(job_id)} of yours", "not-found")])
    return job


def start(
    *,
    root: Path,
    engine: Engine,
    actor: Actor,
    request: Request,
    request_url: str,
    read_engine: Engine | None = None,
    file_base: str,
    deidentify_key: bytes | None,
    now: dt.datetime,
    patient_ids: list[str] | None = None,
    wait: bool = False,
    validation: Validation = "shapes",
) -> str:
    """Start an export job (in a thread; ``wait``: in this thread) and return its id."""
    remove_old_jobs(root, now)
    job_id = secrets.token_hex(16)
    job = Job(root / job_id)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    job.folder.mkdir(mode=0o700)
    job.write_status(
        owner=str(actor),
        state="running",
        request=request_url,
        transactionTime=now.isoformat(timespec="seconds") + "Z",
        done_patients=0,
        total_patients=None,
        output=[],
        error=None,
    )

    def run() -> None:
        try:
            counts = write_files(
                job=job,
                engine=engine,
                read_engine=read_engine,
                actor=actor,
                request=request,
                deidentifier=Deidentifier(deidentify_key, now.date()) if deidentify_key is not None else None,
                patient_ids=patient_ids,
                progress=lambda done, total: job.write_status(done_patients=done, total_patients=total),
                validation=validation,
            )
            output = [
                {"type": t, "url": f"{file_base}/{job_id}/{t}.ndjson", "count": n}
                for t, n in counts.items()
                if n
            ]
            job.write_status(state="done", output=output)
        except Exception as exc:  # reported to the poller as an OperationOutcome; logged here
            logger.exception("FHIR export job %s failed", job_id)
            if job.folder.exists():
                job.write_status(state="failed", error=f"the export failed: {type(exc).__name__}")

    if wait:
        run()
    else:
        threading.Thread(target=run, name=f"fhir-export-{job_id[:8]}", daemon=True).start()
    return job_id


def write_files(
    *,
    job: Job,
    engine: Engine,
    actor: Actor,
    read_engine: Engine | None = None,
    request: Request,
    deidentifier: Deidentifier | None,
    patient_ids: list[str] | None,
    progress: Callable[[int, int], None],
    validation: Validation = "shapes",
) -> dict[str, int]:
    """Write one NDJSON file per type; the number of resources written of each."""
    counts = dict.fromkeys(request.types, 0)
    validated: set[Any] = set()
    files = {t: (job.folder / f"{t}.ndjson").open("wb") for t in request.types}
    since = request.since.isoformat(timespec="seconds") + "Z" if request.since else None

    def put(resource: Resource) -> None:
        if since is not None and resource.get("meta", {}).get("lastUpdated", since) < since:
            return
        line = orjson.dumps(resource)
        if validation == "all":
            validate(resource)
        else:
            key = shape(resource)
            if key not in validated:
                validate(resource)
                validated.add(key)
        if deidentifier is not None:
            line = orjson.dumps(deidentifier.resource(resource))
        files[resource["resourceType"]].write(line + b"\n")
        counts[resource["resourceType"]] += 1

    try:
        # a background job: the request's limit ended; rows from the read replica if any, the
        # audit entries on the primary
        with transaction(engine) as db, read_session(read_engine, db, actor.clinic_id) as source:
            limit_to_clinic(db, actor.clinic_id)
            reader = Reader(source, actor)
            if patient_ids is None:
                patient_ids = [p.id for p in reader.patients()]
            if request.level == "system":
                for t, found in (
                    ("Practitioner", reader.clinicians),
                    ("Organization", reader.clinics),
                    ("Questionnaire", reader.questionnaires),
                ):
                    if t in files:
                        for resource in found():
                            put(resource)
        total = len(patient_ids)
        for start_at in range(0, total, PATIENTS_PER_TRANSACTION):
            if not job.folder.exists() or job.status().get("state") == "cancelled":
                return counts
            with transaction(engine) as db, read_session(read_engine, db, actor.clinic_id) as source:
                limit_to_clinic(db, actor.clinic_id)
                reader = Reader(source, actor)
                for pid in patient_ids[start_at : start_at + PATIENTS_PER_TRANSACTION]:
                    if "Patient" in files:
                        from bontrack.fhir.mapping.people import patient

                        put(patient(reader.patient(pid)))
                    for t in PATIENT_TYPES:
                        if t in files:
                            for resource in reader.compartment(pid, t):
                                put(resource)
            progress(min(total, start_at + PATIENTS_PER_TRANSACTION), total)
    finally:
        for handle in files.values():
            handle.close()
        for t, n in counts.items():
            if not n:
                (job.folder / f"{t}.ndjson").unlink(missing_ok=True)
    return counts


def shape(node: Any) -> Any:
    """A resource's structure: element names, nesting, and the kind of each value (one list item
    of each distinct shape). An empty string, or one with a leading or trailing blank, is its own
    kind: FHIR refuses those, so such a resource never shares a shape with a valid one."""
    if isinstance(node, dict):
        return tuple((k, shape(v)) for k, v in node.items())
    if isinstance(node, list):
        return ("[", *dict.fromkeys(shape(v) for v in node))
    if isinstance(node, str):
        return "s" if node and node[0] > " " and node[-1] > " " else "!"
    return type(node)


def remove_old_jobs(root: Path, now: dt.datetime) -> None:
    """Delete the jobs started more than KEPT_FOR ago (run at each kick-off)."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        job = Job(folder)
        try:
            started = dt.datetime.fromisoformat(job.status()["transactionTime"].removesuffix("Z"))
        except (OSError, ValueError, KeyError):
            continue
        if now - started > KEPT_FOR:
            shutil.rmtree(folder, ignore_errors=True)


def cancel(job: Job) -> None:
    """Stop a job and delete its files."""
    job.write_status(state="cancelled")
    shutil.rmtree(job.folder, ignore_errors=True)


def file_path(job: Job, name: str) -> Path:
    resource_type = name.removesuffix(".ndjson")
    path = job.folder / f"{resource_type}.ndjson"
    if not name.endswith(".ndjson") or resource_type not in SYSTEM_LEVEL_TYPES or not path.exists():
        raise FhirError(404, [Issue(f"no file {shown(name)} in this export", "not-found")])
    return path
