"""The worklist's one window: how far back overdue items are listed and how far ahead due ones are.

The web pages (home and worklist), ``bontrack due`` and ``make run``'s summary all take it from
here, so they list the same items on the same day (the day defaults to today).

Why these defaults (a way of working, not a clinical number; a clinic may set its own with
BONTRACK_WORKLIST_LOOK_BACK_DAYS and BONTRACK_WORKLIST_LOOK_AHEAD_DAYS):

* look back 28 days: an outcome visit missed by more than four weeks can no longer be measured
  near its planned week (the 2-week visit becomes a 6-week one), and a patient who dropped out
  long ago is not work for today. Older open items are counted on every page, not listed; they
  stay open (and a click shows them) until someone marks them done or cancelled.
* except an adverse event's follow-up (open or serious): listed while open whatever its due date,
  never counted among the older ones, since an unreviewed serious event must not drop into a
  count. With no limit of its own: a registry that imported years of history lists every such
  event once (bontrack cannot tell one reviewed before it from one never reviewed); each leaves
  the list when marked done, or cancelled with a reason ("reviewed before bontrack").
* look ahead 7 days: what the clinic books and calls about this week.
"""

from __future__ import annotations

import datetime as dt
import functools
import os

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bontrack.errors import InputError

ENV_PREFIX = "BONTRACK_WORKLIST_"
MAX_LOOK_BACK = 3650
MAX_LOOK_AHEAD = 365


class Window(BaseSettings):
    """Look-back and look-ahead in days around the day the worklist is made for."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    look_back_days: int = Field(28, ge=0, le=MAX_LOOK_BACK)
    look_ahead_days: int = Field(7, ge=0, le=MAX_LOOK_AHEAD)

    def since(self, today: dt.date) -> dt.date:
        """The oldest due date listed; items due before it are counted, not listed (but an open
        adverse event's follow-up, listed whatever its date)."""
        return today - dt.timedelta(days=self.look_back_days)

    def until(self, today: dt.date) -> dt.date:
        return today + dt.timedelta(days=self.look_ahead_days)

    def words(self) -> str:
        return f"from {self.look_back_days} days back to {self.look_ahead_days} days ahead"


def load_window(*, look_back_days: int | None = None, look_ahead_days: int | None = None) -> Window:
    """The window from the environment (else the defaults), with any value given instead; a bad
    value is an InputError naming the setting.

    Read again whenever the environment's BONTRACK_WORKLIST_* variables change: the window made
    from the same variables and the same values given is kept (a Window is frozen), since reading
    the settings cost more than a page's own work with them."""
    return _window(_settings_in_environment(), look_back_days, look_ahead_days)


def _settings_in_environment() -> tuple[tuple[str, str], ...]:
    """The environment's variables that Window reads (by prefix, in any case, as pydantic-settings
    matches them)."""
    prefix = ENV_PREFIX.lower()
    return tuple(sorted((k.lower(), v) for k, v in os.environ.items() if k.lower().startswith(prefix)))


@functools.lru_cache(maxsize=256)  # the worklist page's look-back and look-ahead are a few values
def _window(
    environment: tuple[tuple[str, str], ...], look_back_days: int | None, look_ahead_days: int | None
) -> Window:
    """``load_window`` for the environment whose settings are ``environment`` (a bad value raises
    each time: an exception is not kept)."""
    given = {"look_back_days": look_back_days, "look_ahead_days": look_ahead_days}
    try:
        from_env = Window()  # the environment, else the defaults
        return Window.model_validate(
            from_env.model_dump() | {k: v for k, v in given.items() if v is not None}
        )
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = str(err["loc"][0]) if err["loc"] else "look_back_days"
        limit = MAX_LOOK_BACK if name == "look_back_days" else MAX_LOOK_AHEAD
        raise InputError.one(
            f"{ENV_PREFIX}{name.upper()}", f"must be a whole number of days from 0 to {limit}"
        ) from None
