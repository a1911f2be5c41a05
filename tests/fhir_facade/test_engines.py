"""The facade on both engines (SQLite and PostgreSQL): search, $everything and $export give the
same valid resources."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from bontrack.storage.engine import transaction
from bontrack.synth.generator import generate
from bontrack.synth.loader import load
from fhir_facade.fhir_support import all_entries, check_resource
from fhir_facade.test_bulk_export import kick_off, lines, manifest
from web.conftest import make_site, populate


def test_search_everything_and_export_on_each_engine(engine: Engine, tmp_path: Path) -> None:
    world = populate(engine)
    with transaction(engine) as db:
        load(db, actor="test:setup", batches=generate(3, seed=5))
    site = make_site(engine, world)
    site.client.app.state.fhir_export_dir = tmp_path / "exports"  # type: ignore[attr-defined]
    procedures = all_entries(site, "admin", "/fhir/Procedure?_count=2")
    assert procedures
    pid = procedures[0]["resource"]["subject"]["reference"].removeprefix("Patient/")
    everything = site.client.get(f"/fhir/Patient/{pid}/$everything", headers=site.bearer("admin")).json()
    check_resource(everything)
    found = manifest(site, "admin", kick_off(site, "admin"))
    exported = {o["type"]: lines(site, "admin", o["url"]) for o in found["output"]}
    for resources in exported.values():
        for resource in resources:
            check_resource(resource)
    assert {p["resource"]["id"] for p in procedures} == {r["id"] for r in exported["Procedure"]}
    assert json.dumps(exported["Patient"]).count('"resourceType"') == 4
