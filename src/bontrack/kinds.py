"""The one registry of record types, in the order a parent comes before its children.

Each kind is declared by its domain (``<domain>/kind.py``, a ``bontrack.record_kind.RecordKind``);
adding a record type adds its line here. Export writes types in this order; import checks and
loads them in it; Alembic sees every table; the withdrawal rule finds what refers to a record;
the API's correct/withdraw/history routes, the chart's correction pages and timeline are built
from ``KINDS``.
"""

from __future__ import annotations

from bontrack.assessments.kind import ASSESSMENT
from bontrack.audit.models import AuditEntry
from bontrack.auth.models import AUTH_TABLES
from bontrack.injections.kind import ADVERSE_EVENT, INJECTION_SESSION
from bontrack.outcomes.kind import OUTCOME
from bontrack.patients.kind import CLINIC, CLINICIAN, EPISODE, PATIENT
from bontrack.record_kind import AnyKind
from bontrack.scheduling.kind import WORKLIST_ACTION
from bontrack.screening.kind import SCREENING
from bontrack.stock.kind import STOCK_RECEIPT, VIAL_DISCARD, VIAL_OPENING
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT

KINDS: tuple[AnyKind, ...] = (
    CLINIC,
    CLINICIAN,
    PATIENT,
    EPISODE,
    SCREENING,
    ASSESSMENT,
    THERAPY_PLAN,
    INJECTION_SESSION,
    ADVERSE_EVENT,
    THERAPY_VISIT,
    OUTCOME,
    WORKLIST_ACTION,  # what was done about a worklist item: after every record an item can follow
    STOCK_RECEIPT,  # the toxin stock: vials received, opened for a session, discarded
    VIAL_OPENING,
    VIAL_DISCARD,
)
BY_NAME = {k.name: k for k in KINDS}
TABLES = (AuditEntry, *(k.row for k in KINDS), *AUTH_TABLES)
# the kinds a user corrects, withdraws and reads the history of (the API and the chart's pages)
CORRECTABLE = {k.name: k for k in KINDS if k.correctable}
# the chart timeline's lists, by name
TIMELINE = {k.timeline: k for k in KINDS if k.timeline is not None}


def referring(name: str) -> list[tuple[AnyKind, tuple[str, ...]]]:
    """The kinds that refer to records of kind ``name``, each with the fields that name one."""
    found = []
    for kind in KINDS:
        fields = tuple(field for field, target in kind.references if target == name)
        if fields:
            found.append((kind, fields))
    return found


def _check() -> None:
    for kind in KINDS:
        for _field, target in kind.references:
            if KINDS.index(BY_NAME[target]) >= KINDS.index(kind):
                raise ValueError(f"kind {kind.name!r} refers to {target!r}, listed after it")


_check()
