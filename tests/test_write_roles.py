"""Who may correct or withdraw a record: those who may record it, by its kind's one rule, held by
the services (bontrack.corrections, bontrack.writers), so that every face (the chart's pages, the
API, an import, a face not yet written) refuses alike. Until session 24 only the faces checked
it: a service called with a staff member's account withdrew a physician's injection session.

Every correction and withdrawal function of the services, by every signed-in role of the
record's clinic: a role its kind does not let write is refused (NotAllowedError, marked as a
denied attempt, in words that name who may), and a role it lets write is not refused for its role.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bontrack.actor import Actor
from bontrack.auth.models import ROLES
from bontrack.errors import NotAllowedError
from bontrack.kinds import BY_NAME, CORRECTABLE
from bontrack.storage.audit_log import denied_attempt
from test_clinic_scoping import CALLS, Ids, _run
from test_clinic_scoping import setting as setting  # the fixture

# the service functions that correct or withdraw a record, by the kind they write
REWRITES = {
    "patients.update_patient": "patient",
    "patients.withdraw_patient": "patient",
    "patients.update_episode": "episode",
    "patients.withdraw_episode": "episode",
    "injections.update_session": "injection_session",
    "injections.withdraw_session": "injection_session",
    "injections.update_adverse_event": "adverse_event",
    "injections.withdraw_adverse_event": "adverse_event",
    "outcomes.update_outcome": "outcome",
    "outcomes.withdraw_outcome": "outcome",
    "therapy.update_plan": "therapy_plan",
    "therapy.withdraw_plan": "therapy_plan",
    "therapy.update_visit": "therapy_visit",
    "therapy.withdraw_visit": "therapy_visit",
    "screening.update_screening": "screening",
    "screening.withdraw_screening": "screening",
    "assessments.update_assessment": "assessment",
    "assessments.withdraw_assessment": "assessment",
    "scheduling.correct_action": "worklist_action",
}


def test_every_correction_and_withdrawal_function_is_listed() -> None:
    named = {n for n in CALLS if n.split(".")[1].startswith(("update_", "withdraw_", "correct_"))}
    assert named - {"stock.withdraw_openings"} == set(REWRITES)  # openings: with their session
    assert {REWRITES[n] for n in REWRITES} - {"worklist_action"} == set(CORRECTABLE)


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_a_role_that_may_not_record_it_may_not_correct_or_withdraw_it(
    engine: Engine, setting: tuple[Ids, Actor, Actor], name: str
) -> None:
    ids, own, _ = setting
    kind = BY_NAME[REWRITES[name]]
    verb = "withdraw" if ".withdraw_" in name else "correct"
    for role in ROLES:
        actor = Actor(f"user:{role}", clinic_id=own.clinic_id, role=role)
        if role in kind.write_roles:
            try:
                _run(engine, CALLS[name], actor, ids)
            except NotAllowedError as exc:  # pragma: no cover - the failure names it
                pytest.fail(f"{role} refused: {exc}")
            except Exception:  # a rule of the data (a withdrawal with dependants): not the role's
                pass
            continue
        with pytest.raises(NotAllowedError) as caught:
            _run(engine, CALLS[name], actor, ids)
        attempt = denied_attempt(caught.value)
        assert attempt is not None, (name, role)
        assert (attempt.actor, attempt.record_type) == (f"user:{role}", kind.name)
        assert attempt.action == ("withdraw" if verb == "withdraw" else "update")
        message = caught.value.errors[0].message
        assert message.startswith("only a") and f" can {verb} {kind.words}; " in message, message
        assert message.endswith(f"your account's role is {role.replace('_', ' ')}"), message
