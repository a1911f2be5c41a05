"""Settings from the command line and the environment: built once, frozen, passed to who needs them."""

from __future__ import annotations

import getpass
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from bontrack.actor import COMMAND_LINE

DEFAULT_DATABASE_URL = "sqlite:///bontrack.db"
DATABASE_ENV = "BONTRACK_DATABASE_URL"
ACTOR_ENV = "BONTRACK_ACTOR"
READ_DATABASE_ENV = "BONTRACK_READ_DATABASE_URL"


class Settings(BaseSettings):
    """``--db``, ``--read-db`` and ``--actor`` win over BONTRACK_DATABASE_URL,
    BONTRACK_READ_DATABASE_URL and BONTRACK_ACTOR, then the defaults."""

    model_config = SettingsConfigDict(env_prefix="BONTRACK_", frozen=True, extra="ignore")

    database_url: str | None = None
    actor: str | None = None
    # a read replica (PostgreSQL standby) for reports and research reads; None: read the primary
    read_database_url: str | None = None

    @classmethod
    def from_options(
        cls,
        *,
        database_url: str | None = None,
        actor: str | None = None,
        read_database_url: str | None = None,
    ) -> Settings:
        """An option left out (or empty) falls back to the environment."""
        given: dict[str, Any] = {
            "database_url": database_url,
            "actor": actor,
            "read_database_url": read_database_url,
        }
        return cls(**{name: value for name, value in given.items() if value})

    def resolved_database_url(self) -> str:
        return self.database_url or DEFAULT_DATABASE_URL

    def resolved_actor(self) -> str:
        """Who a command is recorded as in the audit log: --actor, BONTRACK_ACTOR, else cli:<login>."""
        if self.actor:
            return self.actor
        try:
            return f"{COMMAND_LINE}{getpass.getuser()}"
        except (KeyError, OSError):
            return f"{COMMAND_LINE}unknown"
