"""The calibration file (calibration.toml): every number of the synthetic clinic with its source."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any


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
