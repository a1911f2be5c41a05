"""due_items derived again under the worklist's rules of knowledge version 2026.12.5: no schema
change. Stop-and-review counts judged cycles only (a cycle whose visits were missed no longer
ends the run: the flag is shown from the day it lapses), a missed outcome visit lapses once a
later visit of its cycle is recorded, and a therapy plan's next visit lapses once the plan is
superseded. The kept table is derived again only when a patient's record is written, so an
existing registry's items are derived again, as `bontrack due --rebuild` would (the table is
derived, not a clinical record; a new registry has nothing to derive): since 0021 by that
migration, not here: the code that derives them writes 0021's column (``shown_from``), which
this schema has not, and `bontrack db upgrade` goes on to the newest migration, 0021 included.

Revision ID: 0020_due_rules
Revises: 0019_packed_json
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

revision = "0020_due_rules"
down_revision = "0019_packed_json"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing here: migration 0021 derives the items again (see above)."""


def downgrade() -> None:
    """Nothing to undo: the items stay; the older code derives each patient's again when one of
    their records is written, or all at once with `bontrack due --rebuild`."""
