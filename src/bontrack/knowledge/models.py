"""Schemas of the knowledge-base files; loading validates every file against them.

Every clinical number is a ``Sourced*`` fact: the value together with the id of the source it
was read from (``sources.toml``) and a note saying where and how sure.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["block", "warn", "info"]
Confidence = Literal["label", "label-derived", "guideline", "paper", "secondary", "pathway"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


WEB_ADDRESS = re.compile(r"^https?://[^/\s]+\.[^/\s]+(/\S*)?$")
SET_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Source(Strict):
    """A document a fact was read from.

    A product label (confidence "label") is an FDA structured product label: it names its set id
    (the label's identity across versions) and, where they were read, the version and effective
    date. A fact citing it gives the section in its ``where``.
    """

    title: str
    url: str = Field(description="web address (http or https), never a local path")
    confidence: Confidence
    set_id: str = Field("", description="FDA SPL set id of a label")
    version: str = Field("", description="SPL version number of the label text read")
    effective: dt.date | None = Field(None, description="effective date of that label version")
    label_of: str = Field("", description="id of the product this is the FDA label of")

    @model_validator(mode="after")
    def _citable(self) -> Source:
        if not WEB_ADDRESS.match(self.url):
            raise ValueError(f"url must be a web address (http:// or https://), got {self.url!r}")
        if self.set_id and not SET_ID.match(self.set_id):
            raise ValueError(f"set_id must be an SPL set id (lower-case UUID), got {self.set_id!r}")
        if self.confidence == "label" and not self.set_id:
            raise ValueError("a label source needs its set_id")
        return self


class Sourced(Strict):
    source: str = Field(description="id of an entry in sources.toml")
    where: str = Field("", description="section, table or page inside the source")
    note: str = Field("", description="why this value, and how sure")


class SourcedNumber(Sourced):
    value: float = Field(ge=0)


class SourcedMuscle(Sourced):
    """A fact about one muscle (e.g. the one whose bilateral injection risks dysphagia)."""

    muscle: str = Field(description="id of a muscle in muscles.toml")


class SourcedLimit(SourcedNumber):
    """A dose limit with the severity of exceeding it."""

    severity: Severity


class InitialDose(SourcedLimit):
    """A label's initial total dose for a patient with no toxin history, and whether the value
    itself is too much: ``lower_than`` when the label asks for a dose lower than the value
    (MYOBLOC: "a lower initial dose" than the tolerant range's 2,500 U), else the value is the
    initial dose and only a total above it warns (XEOMIN 120 U, DYSPORT 500 U)."""

    lower_than: bool = False

    def exceeded(self, total: float, decimals: int = 6) -> bool:
        """Does a first session's total go beyond the initial dose (reaching it, when the label
        asks for less than the value)?"""
        total = round(total, decimals)
        return total >= self.value if self.lower_than else total > self.value


class SourcedWeeks(Sourced):
    """A list of times in weeks (e.g. follow-up visits after a session)."""

    weeks: list[int] = Field(min_length=1)


class OutcomeVisits(SourcedWeeks):
    """The follow-up visits after a session and the questionnaires each one asks for."""

    instruments: dict[str, list[int]] = Field(
        min_length=1, description="instrument id -> the visit weeks it is filled in at"
    )

    @model_validator(mode="after")
    def _scheduled(self) -> OutcomeVisits:
        stray = {i: w for i, ws in self.instruments.items() for w in ws if w not in self.weeks}
        if stray:
            raise ValueError(f"instruments asked at weeks that are not visit weeks: {stray}")
        return self

    def due_at(self, week: int) -> list[str]:
        """The instruments of the visit ``week`` weeks after a session, in the file's order."""
        return [i for i, weeks in self.instruments.items() if week in weeks]


class SourcedRange(Sourced):
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SourcedRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class Vial(Sourced):
    units: int = Field(gt=0)
    solution_ml: float = Field(0.0, ge=0, description="liquid already in the vial (0 for a powder)")
    diluent_ml_min: float = Field(0.0, ge=0)
    diluent_ml_max: float = Field(0.0, ge=0)


class MuscleCap(SourcedLimit):
    muscle: str
    scope: Literal["per_side", "both_sides"]


class Product(Strict):
    name: str
    brands: list[str]
    serotype: Literal["A", "B"]
    form: Literal["powder", "solution"]
    excipients: list[str]
    vials: list[Vial] = Field(min_length=1)
    usable_hours_after_preparation: SourcedNumber
    min_retreatment_days: SourcedNumber
    min_age_years: SourcedNumber
    typical_cervical_session_units: SourcedRange
    max_session_units: SourcedLimit
    max_units_rolling_12_weeks: SourcedLimit
    # the label's own cumulative interval in calendar months, when it is longer than the pathway's window
    cumulative_label_months: SourcedNumber | None = None
    max_units_per_site: SourcedLimit | None = None
    initial_session_units: InitialDose | None = Field(
        None, description="label's initial total dose for a patient with no toxin history"
    )
    muscle_caps: list[MuscleCap] = []
    units_note: Sourced

    def vial(self, units: float) -> Vial | None:
        return next((v for v in self.vials if v.units == units), None)

    @property
    def display_name(self) -> str:
        """How every page, command and message names the product: its nonproprietary name and
        first brand, capitalised as a word ("onabotulinumtoxinA (Botox)"; the brands are kept
        lower case, as look-up keys)."""
        return f"{self.name} ({self.brands[0].capitalize()})" if self.brands else self.name


class Muscle(Strict):
    name: str
    region: Literal["neck", "shoulder", "upper_back"]
    view: Literal["front", "back", "side"]
    snomed: str = ""
    code_source: str = ""
    caution: str = ""


class ProductSourced(Sourced):
    """A screening fact cited, by default, from one label (``source``, ``where``) and, in
    ``sources``, from each product's own label where that label was read to say it.

    A plan of a product with no entry cites the default; when the default is another product's
    label, the citation says the fact is the class's and that the product's own label section
    was not read (``KnowledgeBase.cite_for``).
    """

    sources: dict[str, Sourced] = Field(
        default_factory=dict, description="product id -> where that product's own label says it"
    )


class ScreeningItem(ProductSourced):
    """A contraindication (block) or precaution (warn) with advice for the clinician."""

    severity: Severity
    label: str
    advice: str
    products: list[str] = Field(default_factory=list, description="empty: every product")
    excipient: str = Field("", description="applies to products containing this excipient")
    aliases: list[str] = Field(default_factory=list, description="other names people write for it")
    not_when: dict[str, Annotated[str, Field(pattern=r"\S", description="why it is not this item")]] = Field(
        default_factory=dict,
        description="phrase -> why it is not this item: phrases that contain one of its names but name "
        "something else ('milk thistle', a plant, is not cow's milk protein); an entry naming the item "
        "only inside such a phrase does not name it (knowledge.screening_names)",
    )


class DrugClass(ProductSourced):
    severity: Severity
    label: str
    advice: str
    members: list[str] = Field(min_length=1)
    aliases: dict[str, str] = Field(default_factory=dict, description="brand or synonym -> generic")


class NoInteractionGroup(Strict):
    """Medicines of one class, by generic name, each with the brand names and synonyms people write."""

    label: str
    drugs: dict[str, list[str]] = Field(min_length=1, description="generic -> brands and synonyms")


class MedicationsNoInteraction(Sourced):
    """Common medicines with no labelled interaction with botulinum toxin: the engine says nothing.

    The source is the labels' Drug Interactions section, which names only the groups in the
    screening's drug classes; a medicine is listed here only if it belongs to none of them.
    """

    groups: dict[str, NoInteractionGroup] = Field(min_length=1)


class CycleResponse(Sourced):
    """What counts as a response to one injection cycle (drives stop-and-review)."""

    instrument: str
    score: str
    min_improvement_percent: float = Field(gt=0, le=100)
    judged_at_weeks: list[int] = Field(
        min_length=1, description="visits a cycle is judged at, in order: the first with a score decides"
    )


class SourcedCodes(Sourced):
    """ICD-10-CM codes, each also standing for the codes it begins (M79.1: M79.10-M79.18)."""

    codes: list[str] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _icd10cm(cls, codes: list[str]) -> list[str]:
        bad = [c for c in codes if not re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", c)]
        if bad:
            raise ValueError(
                f"not ICD-10-CM codes: {bad} (a letter, 2 characters, optional .1-4, e.g. M54.2)"
            )
        return codes


class SourcedRoles(Sourced):
    """The roles allowed to do something (e.g. inject); any other role is refused."""

    roles: list[str] = Field(min_length=1)


class Pathway(Strict):
    chronic_pain_min_weeks: SourcedNumber
    conservative_care_min_weeks: SourcedNumber
    physical_therapy_alongside: Sourced
    trigger_point_per_muscle: Sourced
    episode_diagnoses: SourcedCodes
    stop_review_cycles_without_response: SourcedNumber
    bilateral_scm: SourcedMuscle
    other_product_interval: Sourced
    cumulative_window_days: SourcedNumber
    lot_expiry: Sourced
    cycle_response: CycleResponse
    outcome_visit_weeks: OutcomeVisits
    screening_max_age_days: SourcedNumber
    pregnancy_check_ages: SourcedRange
    trigger_point_max_age_days: SourcedNumber
    injector_roles: SourcedRoles
    therapist_roles: SourcedRoles
    adverse_event_window_days: SourcedNumber
    override_reason_min_chars: SourcedNumber
    override_reason_min_words: SourcedNumber


class Mcid(Sourced):
    """A minimal clinically important difference for one score; value None: none adopted."""

    value: float | None = Field(None, gt=0, description="size of improvement, in the score's units")
    unit: str

    @model_validator(mode="after")
    def _explained(self) -> Mcid:
        if self.value is None and not self.note:
            raise ValueError("an MCID without a value needs a note saying why")
        return self


class ResponderThresholds(Strict):
    defined_for: tuple[str, ...] = Field(
        description="instrument ids the thresholds were set for; for the others they are a convention"
    )
    moderate_percent: SourcedNumber
    substantial_percent: SourcedNumber


class Outcomes(Strict):
    """Interpreting change: responder thresholds and MCIDs by instrument id and score name."""

    responder_thresholds: ResponderThresholds
    mcid: dict[str, dict[str, Mcid]]


class LabelAdverseReactions(Sourced):
    """Adverse reactions a label reports for one product and indication, in percent of patients.

    Shown beside a clinic's own rates for orientation only: the label's patients, doses and
    ascertainment (a trial's systematic questioning) differ from a myofascial clinic's.
    """

    indication: str
    percent: dict[str, float] = Field(min_length=1, description="event term -> percent of patients")

    @model_validator(mode="after")
    def _percentages(self) -> LabelAdverseReactions:
        bad = {k: v for k, v in self.percent.items() if not 0 <= v <= 100}
        if bad:
            raise ValueError(f"percentages must be within 0-100, got {bad}")
        return self


class CodedTerms(Sourced):
    """A coded field of a record: each code with the words pages show for it, and the code the
    FHIR facade sends for it in ``system`` (adverse_events.toml: an adverse event's status and
    relatedness)."""

    system: str = Field(description="the FHIR code system of the ``fhir`` codes")
    words: dict[str, str] = Field(min_length=1, description="code -> words shown for it")
    fhir: dict[str, str] = Field(description="code -> the code in ``system``")
    fhir_source: str = Field("", description="id of the source of the FHIR codes, when not ``source``")

    @model_validator(mode="after")
    def _every_code_mapped(self) -> CodedTerms:
        if set(self.fhir) != set(self.words):
            raise ValueError(f"fhir must map every code of words, got {sorted(self.fhir)}")
        return self


class KnowledgeFiles(Strict):
    """The raw contents of the TOML files, as validated."""

    version: str
    sides: list[str]
    sources: dict[str, Source]
    products: dict[str, Product]
    muscles: dict[str, Muscle]
    allergies: dict[str, ScreeningItem]
    states: dict[str, ScreeningItem]
    conditions: dict[str, ScreeningItem]
    drug_classes: dict[str, DrugClass]
    medications_no_interaction: MedicationsNoInteraction
    pathway: Pathway
    outcomes: Outcomes
    label_adverse_reactions: dict[str, LabelAdverseReactions]
    # other names of a reaction the labels list (adverse_events.toml): counted as the reaction
    adverse_event_aliases: dict[str, list[str]] = Field(default_factory=dict)
    # an adverse event's coded status and relatedness (adverse_events.toml)
    adverse_event_status: CodedTerms
    adverse_event_relatedness: CodedTerms
