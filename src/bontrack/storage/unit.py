"""The unit of work: the session every transaction runs in (bontrack.db.transaction).

Its audit entries are written with what they record (bontrack.storage.audit_log), and a bulk
block (bontrack.bulk) writes rows and entries in batches behind the same calls. The events that
do this are registered on this class only, never on SQLAlchemy's global ``Session``: a session
made elsewhere (a scratch database, a benchmark) carries none of them.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from bontrack.storage.audit_log import LISTENERS


class UnitOfWork(Session):
    """A SQLAlchemy session that writes its audit entries in its own transaction."""


for _name, _listener in LISTENERS:
    event.listen(UnitOfWork, _name, _listener)
