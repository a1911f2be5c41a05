"""The calibration file (calibration.toml): every number of the synthetic clinic with its source."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any, NamedTuple


class Calibration:
    """Read access to calibration.toml by dotted path: ``cal.num("response.nonspecific_mean")``."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self._numbers: dict[str, float] = {}  # looked up hundreds of times per patient

    def get(self, path: str) -> Any:
        node: Any = self.raw
        for part in path.split("."):
            node = node[part]
        return node

    def num(self, path: str) -> float:
        number = self._numbers.get(path)
        if number is None:
            value = self.get(path)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"calibration {path} must be a number, got {value!r}")
            number = self._numbers[path] = float(value)
        return number

    def weights(self, path: str) -> dict[str, float]:
        table = self.get(path)
        return {str(k): float(v) for k, v in table.items()}

    def date(self, path: str) -> dt.date:
        return dt.date.fromisoformat(str(self.get(path)))


@cache
def load_calibration() -> Calibration:
    """The packaged calibration; each table carries ``source`` and ``note``."""
    text = resources.files("bontrack.synth").joinpath("calibration.toml").read_text(encoding="utf-8")
    return Calibration(tomllib.loads(text))


class Timeline(NamedTuple):
    """The demo clinic's days: referrals from ``first_referral``, nothing generated after ``as_of``."""

    first_referral: dt.date
    as_of: dt.date


def timeline(as_of: dt.date | None = None) -> Timeline:
    """The calibrated timeline (calibration.toml, ``[timeline]``) moved, its span kept, to end on
    ``as_of`` (``bontrack demo --as-of``); default: the calibrated day, unmoved. Every patient
    draws the same numbers on any timeline: only the days move."""
    cal = load_calibration()
    first, calibrated = cal.date("timeline.first_referral"), cal.date("timeline.as_of")
    day = as_of or calibrated
    return Timeline(day - (calibrated - first), day)
