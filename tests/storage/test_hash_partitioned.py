"""The schema split by clinic: PostgreSQL's native hash partitioning stands in for Citus.

Citus distributes a table by one column and requires every primary and unique key to hold it;
PostgreSQL requires the same of a table ``PARTITION BY HASH (clinic_id)``, and refuses the table
otherwise. So the registry's own schema (every migration, with its row-level security and the
audit log's append-only triggers) is rebuilt with every table a clinic owns split into 4 hash
partitions by clinic: refused at 0008, accepted at head. Then the real services run through it
for several clinics (patients, sessions, outcomes, a correction, a withdrawal, charts, the
report): each clinic's rows land in one partition, the same one in every table (what Citus
calls co-location), the clinics spread over several partitions, and each clinic reads only its
own. We could not install Citus here (see the README, "Distributing by clinic").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DatabaseError

from bontrack.actor import Actor
from bontrack.errors import NotFoundError
from bontrack.injections import service as injections
from bontrack.knowledge.loader import load_knowledge
from bontrack.outcomes import service as outcomes
from bontrack.patients import service as patients
from bontrack.reports.content import build_report
from bontrack.reports.data import cohort_frames
from bontrack.storage.engine import _alembic_config, make_engine, open_engine, transaction
from clinic_story import Story, clinic_story
from factories import ACTOR

PARTS = 4
REFUSED = "must include all partitioning columns"


def owned_tables(conn: Connection) -> list[str]:
    """The tables a clinic owns: those with a non-null clinic_id (the Citus distributed tables)."""
    return list(
        conn.execute(
            text(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = 'clinic_id' AND is_nullable = 'NO' AND table_name NOT IN "
                "(SELECT relname FROM pg_class WHERE relispartition) ORDER BY table_name"
            )
        ).scalars()
    )


def partition_by_clinic(conn: Connection, table: str) -> None:
    """Rebuild an (empty) table as ``PARTITION BY HASH (clinic_id)`` in PARTS partitions, with
    its keys, indexes, defaults, sequences, row-level security policies and triggers."""
    plain = f"{table}_plain"
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {plain}"))
    # LIKE ... INCLUDING ALL copies the primary and unique keys: refused unless they hold clinic_id
    conn.execute(text(f"CREATE TABLE {table} (LIKE {plain} INCLUDING ALL) PARTITION BY HASH (clinic_id)"))
    for i in range(PARTS):
        conn.execute(
            text(
                f"CREATE TABLE {table}_p{i} PARTITION OF {table} "
                f"FOR VALUES WITH (MODULUS {PARTS}, REMAINDER {i})"
            )
        )
    serial = conn.execute(
        text(
            "SELECT column_name, pg_get_serial_sequence(:t, column_name) FROM information_schema.columns "
            "WHERE table_name = :t AND column_default LIKE 'nextval%'"
        ),
        {"t": plain},
    ).all()
    for column, sequence in serial:  # audit_log.seq: its sequence moves with the table
        conn.execute(text(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}"))
    conn.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
    conn.execute(text(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"))
    policies = conn.execute(
        text("SELECT policyname, qual, with_check FROM pg_policies WHERE tablename = :t"), {"t": plain}
    ).all()
    for name, qual, check in policies:
        conn.execute(text(f"CREATE POLICY {name} ON {table} USING ({qual}) WITH CHECK ({check})"))
    triggers = conn.execute(
        text(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal"
        ),
        {"t": plain},
    ).scalars()
    for definition in list(triggers):
        conn.execute(text(definition.replace(f" ON public.{plain} ", f" ON public.{table} ")))
    conn.execute(text(f"DROP TABLE {plain}"))


def _partitioned_database(db_url: str, revision: str) -> Engine:
    from alembic import command

    if not db_url.startswith("postgresql"):
        pytest.skip("hash partitioning is PostgreSQL's")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    with engine.begin() as conn:
        views = _drop_views(conn)  # a view over a table would keep the plain table from being dropped
        for table in owned_tables(conn):
            partition_by_clinic(conn, table)
        for statement in views:
            conn.execute(text(statement))
    return engine


def _drop_views(conn: Connection) -> list[str]:
    """Drop the schema's views (the audit log's, since 0010); the statements that make them again
    over the partitioned tables, with their options and triggers."""
    again: list[str] = []
    for name, options in conn.execute(
        text(
            "SELECT relname, reloptions FROM pg_class "
            "WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace"
        )
    ).all():
        definition = conn.execute(
            text("SELECT pg_get_viewdef(CAST(:v AS regclass))"), {"v": name}
        ).scalar_one()
        with_options = f" WITH ({', '.join(options)})" if options else ""
        again.append(f"CREATE VIEW {name}{with_options} AS {definition}")
        again += conn.execute(
            text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = CAST(:v AS regclass)"),
            {"v": name},
        ).scalars()
        conn.execute(text(f"DROP VIEW {name}"))
    return again


def test_the_keys_before_the_clinic_keys_cannot_be_partitioned_by_clinic(db_url: str) -> None:
    with pytest.raises(DatabaseError, match=REFUSED):
        _partitioned_database(db_url, "0008").dispose()


def _where(engine: Engine) -> dict[str, dict[str, set[str]]]:
    """Each table's clinics and the partitions their rows are in."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with engine.connect() as conn:
        for table in owned_tables(conn):
            query = f"SELECT DISTINCT CAST(tableoid AS regclass)::text, clinic_id FROM {table}"
            for partition, clinic in conn.execute(text(query)):
                found[table][clinic].add(partition.rsplit("_p", 1)[1])
    return found


def test_the_services_run_on_the_schema_partitioned_by_clinic(db_url: str) -> None:
    _partitioned_database(db_url, "head").dispose()
    engine = open_engine(db_url)  # at the head revision: accepted as it is
    try:
        with engine.connect() as conn:
            split = set(conn.execute(text("SELECT relname FROM pg_class WHERE relkind = 'p'")).scalars())
            owned = set(owned_tables(conn))
        assert split == owned  # every table a clinic owns is partitioned: records, links, audit, stock
        assert {"outcome_versions", "patient_links", "audit_packs", "vial_opening_versions"} <= split
        with transaction(engine) as db:
            stories = [clinic_story(db, "P-A"), clinic_story(db, "P-B")]
        # more clinics until they are spread over at least two partitions (a uuid's hash decides)
        while len({p for ps in _where(engine)["patient_versions"].values() for p in ps}) < 2:
            assert len(stories) < 20, "twenty clinics all hashed to one partition"
            with transaction(engine) as db:
                stories.append(clinic_story(db, f"P-{len(stories)}"))

        where = _where(engine)
        assert {"patient_versions", "outcome_versions", "audit_packs", "injection_session_versions"} <= set(
            where
        )
        for story in stories:  # each clinic in one partition, the same one in every table
            clinic = story.world.clinic_id
            homes = {t: ps[clinic] for t, ps in where.items() if clinic in ps}
            assert {frozenset(p) for p in homes.values()} and len(set().union(*homes.values())) == 1, homes
            assert {"patient_versions", "outcome_versions", "audit_packs", "clinic_versions"} <= set(homes)
        assert "" in where["audit_packs"]  # the entries of no clinic have a partition too

        for story in stories[:2]:
            _reads_only_its_own(engine, story, stories)
        with transaction(engine) as db:  # the whole registry, for an actor of every clinic
            everyone = cohort_frames(db=db, actor=ACTOR)
        assert set(everyone.patients["patient_id"]) == {s.world.patient_id for s in stories}
    finally:
        engine.dispose()


def _reads_only_its_own(engine: Engine, story: Story, stories: list[Story]) -> None:
    clinic = story.world.clinic_id
    actor = Actor(f"{clinic}:doctor", clinic_id=clinic, role="physician")
    with transaction(engine) as db:
        listed = patients.list_patients(db=db, actor=actor, clinic_id=clinic)
        assert [p.id for p in listed] == [story.world.patient_id]
        chart = outcomes.outcomes_of_patient(db=db, actor=actor, patient_id=story.world.patient_id)
        assert [(o.id, o.version, o.data.answers["1"]) for o in chart] == [(story.outcome_id, 2, 4)]
        sessions = injections.sessions_of_patient(db=db, actor=actor, patient_id=story.world.patient_id)
        assert [s.id for s in sessions] == [story.session_id]
        frames = cohort_frames(db=db, actor=actor, clinic_id=clinic)
        report = build_report(frames, load_knowledge(), today=dt.date(2027, 1, 1))
    assert set(frames.patients["patient_id"]) == {story.world.patient_id}
    assert set(frames.sessions["session_id"]) == {story.session_id}
    assert report.to_dict()["summary"]
    for other in stories:
        if other is story:
            continue
        with pytest.raises(NotFoundError), transaction(engine) as db:
            patients.get_patient(db=db, actor=actor, patient_id=other.world.patient_id)
