"""The outcomes domain's record kind: one completed questionnaire or measurement, scored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from bontrack.outcomes.models import OutcomeRow, OutcomeScoreRow
from bontrack.outcomes.schemas import OutcomeCreate, OutcomeRead, OutcomeRecord
from bontrack.record_kind import RecordKind
from bontrack.roles import WRITE_OUTCOMES
from bontrack.storage import derived


def _outcome(data: Mapping[str, Any]) -> str:
    return str(data.get("instrument", "")).upper()


OUTCOME = RecordKind(
    name="outcome",
    row=OutcomeRow,
    schema=OutcomeRecord,
    create=OutcomeCreate,
    label="outcome measurement",
    correction=OutcomeCreate,
    read=OutcomeRead,
    id_param="outcome_id",
    collection="outcomes",
    write_roles=WRITE_OUTCOMES,
    references=(("patient_id", "patient"), ("episode_id", "episode"), ("session_id", "injection_session")),
    timeline="outcomes",
    dated_by="date",
    describe=_outcome,
    update="bontrack.outcomes.service:update_outcome",
    notes=" The answers are scored again, by the current scorer (its version is kept with the scores).",
)


def refresh_outcome_scores(db: Session, touched: dict[str, set[str]]) -> None:
    """Derive again the current scores (outcome_scores) of the patients whose outcomes were written."""
    from bontrack.outcomes.scores_kept import refresh_patients

    refresh_patients(db, touched)


# the report's typed scores are kept as outcomes are written (bontrack.outcomes.scores_kept)
derived.register(
    {OutcomeRow.__tablename__: "patient_id"}, refresh_outcome_scores, table=OutcomeScoreRow.__tablename__
)
