"""Migration 0022 (a patient link revoked by the clinic: when, by whom, why): the upgrade adds the
columns; the downgrade keeps a revoked link unusable for the code before it, which knows no
revocation (its expiry becomes the moment it was revoked), and leaves every other link as it was."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import DateTime, Engine, column, inspect, select, table

from bontrack.auth.link_list import links_of_patient, revoke_link
from bontrack.auth.links import LinkGone, PatientLinkCreate, issue_link, open_link
from bontrack.storage.engine import _alembic_config, make_engine, transaction
from factories import ACTOR, DAY, clinic_world

ISSUED = dt.datetime.combine(DAY, dt.time(9))
REVOKED = ISSUED + dt.timedelta(hours=1)
# the table as the code before 0022 has it
BEFORE_0022 = table(
    "patient_links", column("id"), column("expires_at", DateTime), column("used_at", DateTime)
)


def _migrate(engine: Engine, how: str, revision: str) -> None:
    with engine.begin() as conn:
        getattr(command, how)(_alembic_config(conn), revision)


def _columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("patient_links")}


def test_migration_0022__a_revoked_link_stays_unusable_after_the_downgrade(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _migrate(engine, "upgrade", "head")
        assert {"revoked_at", "revoked_by", "revoked_reason"} <= _columns(engine)
        with transaction(engine) as db:
            world = clinic_world(db)
            data = PatientLinkCreate(
                patient_id=world.patient_id, episode_id=world.episode_id, instruments=["nprs"]
            )
            secrets = {}
            for name in ("revoked", "kept"):
                secrets[name], _ = issue_link(db=db, actor=ACTOR, data=data, now=ISSUED)
            revoked = open_link(db=db, secret=secrets["revoked"], now=ISSUED)
            kept = open_link(db=db, secret=secrets["kept"], now=ISSUED)
        with transaction(engine) as db:
            revoke_link(
                db=db,
                actor=ACTOR,
                patient_id=world.patient_id,
                link_id=revoked.id,
                reason="wrong phone",
                now=REVOKED,
            )

        _migrate(engine, "downgrade", "0021_flag_shown_from")
        assert not {"revoked_at", "revoked_by", "revoked_reason"} & _columns(engine)
        with engine.connect() as conn:
            expiry = {i: e for i, e, _ in conn.execute(select(BEFORE_0022))}
        assert expiry == {revoked.id: REVOKED, kept.id: kept.expires_at}

        _migrate(engine, "upgrade", "head")
        with transaction(engine) as db:
            assert [
                link.revoked_at for link in links_of_patient(db=db, actor=ACTOR, patient_id=world.patient_id)
            ] == [
                None,
                None,
            ]
            try:
                open_link(db=db, secret=secrets["revoked"], now=REVOKED)
            except LinkGone as gone:
                assert "expired" in str(gone)
            else:
                raise AssertionError("the revoked link works again after the downgrade")
            assert open_link(db=db, secret=secrets["kept"], now=REVOKED).id == kept.id
    finally:
        engine.dispose()
