"""A FHIR client (fhirpy) against a real uvicorn server on a free port: search, read,
$everything, paging to the end, _include."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from fhirpy import SyncFHIRClient

from bontrack.storage.engine import open_engine, transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from factories import World
from fhir_facade.fhir_support import check_resource
from live_server import live_server
from web.conftest import email, password, populate


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    folder = tmp_path_factory.mktemp("fhirpy")
    db_url = f"sqlite:///{folder / 'fhir.db'}"
    eng = open_engine(db_url)
    world = populate(eng)
    with transaction(eng) as db:
        load(db, actor="test:setup", batches=generate(5, seed=7))
    eng.dispose()
    try:
        with live_server(db_url, folder) as base:
            yield base, world
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _client(base: str, role: str) -> SyncFHIRClient:
    form = urllib.parse.urlencode({"username": email(role), "password": password(role)}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token", data=form, timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    return SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {token}")


def _plain(resource: Any) -> dict[str, Any]:
    return json.loads(json.dumps(resource.serialize()))  # type: ignore[no-any-return]


def test_search_read_everything_paging_and_include(server: tuple[str, World]) -> None:
    base, _world = server
    client = _client(base, "admin")

    patients = client.resources("Patient").fetch_all()
    assert len(patients) == 6
    one = next(p for p in patients if p["identifier"][0]["value"] != "P-001")
    check_resource(_plain(one))

    found = client.resources("Patient").search(identifier=one["identifier"][0]["value"]).fetch()
    assert [p.id for p in found] == [one.id]
    read = client.reference("Patient", one.id).to_resource()
    assert _plain(read) == _plain(one)

    everything = client.execute(f"Patient/{one.id}/$everything", method="get", params={"_count": "500"})
    types = {e["resource"]["resourceType"] for e in everything["entry"]}
    assert {"Patient", "Condition", "Procedure", "Observation", "QuestionnaireResponse"} <= types

    observations = client.resources("Observation").search(patient=one.id).limit(4)
    paged = observations.fetch_all()  # follows the Bundle's next links to the end
    total = client.resources("Observation").search(patient=one.id, _summary="count").fetch_raw()["total"]
    assert len(paged) == total > 4
    assert len({o.id for o in paged}) == total
    for obs in paged:
        check_resource(_plain(obs))

    raw = client.resources("Procedure").include("Procedure", "patient").limit(2).fetch_raw()
    included = [e["resource"] for e in raw["entry"] if e["search"]["mode"] == "include"]
    assert included and {r["resourceType"] for r in included} == {"Patient"}


def test_a_physician_of_another_clinic_finds_nobody_else(server: tuple[str, World]) -> None:
    base, world = server
    client = _client(base, "physician")
    assert [p.id for p in client.resources("Patient").fetch_all()] == [world.patient_id]
