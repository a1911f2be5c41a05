"""Instrument definitions as data: items, response codes, scores and scoring rules.

One TOML file per instrument in ``instruments/definitions/`` drives the scorer, the patient's
form and (later) the FHIR Questionnaire. Loading validates each file against the models below and
checks its cross-references: item numbers run 1..N, option sets and stems exist, every scale's
items exist, and every ``source`` is an id in the knowledge base's ``sources.toml``.

Examples
--------
>>> ndi = load_definition("ndi")
>>> ndi.item(7).title, ndi.item(7).allowed()
('Work', '0-5')
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from fractions import Fraction
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bontrack.knowledge.models import Sourced, SourcedNumber

INSTRUMENT_IDS = ("nprs", "vas", "ndi", "rand36")

Better = Literal["lower", "higher"]


def exact_sum(values: Iterable[Fraction]) -> Fraction:
    """The exact sum of fractions, added as whole numbers over their least common denominator
    (the same value as ``sum(values, Fraction(0))``, without reducing after every addition)."""
    fractions = list(values)
    if not fractions:
        return Fraction(0)
    denominator = math.lcm(*(f.denominator for f in fractions))
    return Fraction(sum(f.numerator * (denominator // f.denominator) for f in fractions), denominator)


class DefinitionError(Exception):
    """An instrument definition on disk is inconsistent; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One response: the code printed on the form, its text and its scored value."""

    code: int
    text: str
    value: float = Field(description="the item score for this response (RAND-36: recoded 0-100)")
    loinc: str = Field("", description="LOINC answer code, when one exists")


class Item(_Strict):
    """A question. Either a list of options, or a whole-number range (VAS millimetres)."""

    number: int = Field(ge=1)
    title: str
    text: str = ""
    stem: str = Field("", description="id of shared lead-in text in the file's [stems]")
    loinc: str = ""
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    unit: str = ""
    low_anchor: str = ""
    high_anchor: str = ""

    @model_validator(mode="after")
    def _one_response_kind(self) -> Item:
        ranged = self.min is not None and self.max is not None
        if bool(self.options) == ranged:
            raise ValueError(f"item {self.number}: give either options or min and max")
        if ranged and self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"item {self.number}: min must be below max")
        codes = [o.code for o in self.options]
        if len(set(codes)) != len(codes):
            raise ValueError(f"item {self.number}: response codes repeat")
        return self

    @cached_property
    def exact_values(self) -> dict[int, Fraction]:
        """The scored values as exact fractions, for sums and means without rounding on the way."""
        return {code: Fraction(value) for code, value in self.code_values.items()}

    @cached_property
    def code_values(self) -> dict[int, float]:
        """Each allowed response code with its scored value (worked out once per item)."""
        if self.options:
            return {o.code: o.value for o in self.options}
        assert self.min is not None and self.max is not None
        return {code: float(code) for code in range(self.min, self.max + 1)}

    def codes(self) -> tuple[int, ...]:
        return tuple(self.code_values)

    def allowed(self) -> str:
        """The allowed codes as people read them: '0-5', or '1, 3, 4' when not contiguous."""
        codes = sorted(self.codes())
        if codes == list(range(codes[0], codes[-1] + 1)):
            return f"{codes[0]}-{codes[-1]}"
        return ", ".join(map(str, codes))

    def value_of(self, code: int) -> float:
        """The scored value of a response code (the caller has checked it is allowed)."""
        if not self.options:
            return float(code)
        return self.code_values[code]

    def value_range(self) -> tuple[float, float]:
        values = [o.value for o in self.options] or [float(self.min or 0), float(self.max or 0)]
        return min(values), max(values)


class ScoreDef(_Strict):
    """A score the instrument produces: its range, unit and which direction is better."""

    label: str = Field(description="what people read")
    low: float
    high: float
    unit: str
    better: Better = Field(description="'lower': improvement is a decrease")
    loinc: str = ""
    items: tuple[int, ...] = Field((), description="scale_means: the items averaged")


class Band(Sourced):
    """A severity band: applies from `low` (inclusive) up to the next band's `low`."""

    name: str
    label: str
    low: float


class Scoring(_Strict):
    method: Literal["single", "sum", "scale_means"]
    rule: Sourced | None = None
    max_missing: SourcedNumber | None = None
    band_score: str = ""
    bands: tuple[Band, ...] = ()


class Codes(_Strict):
    """Where the interoperability codes in this file come from, and whether they are checked."""

    system: str
    source: str
    verified: bool
    note: str = ""
    panel: str = ""


class Definition(_Strict):
    id: str
    name: str
    short_name: str
    version: str
    source: str
    where: str = ""
    license: str
    attribution: str
    instructions: str
    note: str = ""
    primary_score: str
    codes: Codes
    stems: dict[str, str] = {}
    scores: dict[str, ScoreDef]
    scoring: Scoring
    items: tuple[Item, ...] = Field(min_length=1)

    def item(self, number: int) -> Item:
        return self.items[number - 1]

    def item_numbers(self) -> range:
        return range(1, len(self.items) + 1)

    @cached_property
    def max_item_value(self) -> float:
        """The highest value any item can score."""
        return max(item.value_range()[1] for item in self.items)

    @cached_property
    def item_keys(self) -> dict[str, int]:
        """Item numbers by the keys answers use ("1".."N")."""
        return {str(n): n for n in self.item_numbers()}

    def band_for(self, value: float) -> Band:
        """The band containing `value` (bands are ordered by their lower bound)."""
        return [b for b in self.scoring.bands if b.low <= value][-1]

    def sourced_facts(self) -> list[Sourced]:
        facts: list[Sourced] = [*self.scoring.bands]
        facts += [f for f in (self.scoring.rule, self.scoring.max_missing) if f is not None]
        return facts


def _resolve_option_sets(raw: dict[str, Any]) -> dict[str, Any]:
    """Replace each item's `option_set = "x"` with the options listed under [option_sets]."""
    sets = raw.pop("option_sets", {})
    for item in raw.get("items", []):
        name = item.pop("option_set", None)
        if name is None:
            continue
        if name not in sets:
            raise DefinitionError(f"item {item.get('number')}: unknown option set '{name}'")
        item["options"] = sets[name]
    return raw


def _problems(d: Definition, known_sources: set[str]) -> list[str]:
    problems = []
    numbers = [item.number for item in d.items]
    if numbers != list(d.item_numbers()):
        problems.append(f"items must be numbered 1..{len(d.items)} in order, got {numbers}")
    problems += [
        f"item {i.number}: unknown stem '{i.stem}'" for i in d.items if i.stem and i.stem not in d.stems
    ]
    if d.primary_score not in d.scores:
        problems.append(f"primary_score '{d.primary_score}' is not in [scores]")
    sources = [d.source, d.codes.source] + [f.source for f in d.sourced_facts()]
    problems += [f"unknown source '{s}'" for s in sources if s not in known_sources]
    method = d.scoring.method
    if method == "single" and (len(d.items) != 1 or len(d.scores) != 1):
        problems.append("method 'single' needs exactly one item and one score")
    if method == "sum" and d.scoring.max_missing is None:
        problems.append("method 'sum' needs scoring.max_missing")
    if d.scoring.max_missing is not None and d.scoring.max_missing.value >= len(d.items):
        problems.append("scoring.max_missing must leave at least one item answered")
    if method == "scale_means":
        for name, score in d.scores.items():
            problems += [f"scores.{name}: no item {n}" for n in score.items if n not in numbers]
            if not score.items:
                problems.append(f"scores.{name}: a scale needs items")
    if d.scoring.bands:
        lows = [b.low for b in d.scoring.bands]
        if d.scoring.band_score not in d.scores:
            problems.append(f"band_score '{d.scoring.band_score}' is not in [scores]")
        elif lows != sorted(set(lows)) or lows[0] != d.scores[d.scoring.band_score].low:
            problems.append("bands must start at the score's low end and rise strictly")
    return problems


def build_definition(raw: dict[str, Any], known_sources: set[str]) -> Definition:
    """Validate one instrument's raw TOML data into a Definition, or raise DefinitionError."""
    try:
        definition = Definition.model_validate(_resolve_option_sets(dict(raw)))
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise DefinitionError("\n  ".join(lines)) from exc
    problems = _problems(definition, known_sources)
    if problems:
        raise DefinitionError("\n  ".join(problems))
    return definition


@cache
def load_definition(instrument_id: str) -> Definition:
    """The packaged definition of one instrument, validated (cached per process).

    Raises
    ------
    KeyError
        `instrument_id` is not one of INSTRUMENT_IDS.
    DefinitionError
        The file is invalid; the message names the file and the problem.
    """
    if instrument_id not in INSTRUMENT_IDS:
        raise KeyError(instrument_id)
    from bontrack.knowledge import load_knowledge

    path = f"instruments/definitions/{instrument_id}.toml"
    text = (resources.files("bontrack.instruments") / "definitions" / f"{instrument_id}.toml").read_text(
        encoding="utf-8"
    )
    try:
        raw = tomllib.loads(text)
        definition = build_definition(raw, set(load_knowledge().files.sources))
    except (tomllib.TOMLDecodeError, DefinitionError) as exc:
        raise DefinitionError(f"{path}:\n  {exc}") from exc
    if definition.id != instrument_id:
        raise DefinitionError(f"{path}: id is '{definition.id}', expected '{instrument_id}'")
    return definition
