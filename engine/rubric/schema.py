"""Pydantic models of the rubric and rule set TOML formats (docs/rubric-format.md).

These models are the schema: unknown keys and wrong types are errors with the key's position.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RULE_ID = r"^[a-z0-9][a-z0-9_.\-]*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeductSpec(_Spec):
    """How many points a firing rule takes: exactly one of points, per_unit, proportional."""

    points: Decimal | None = Field(default=None, ge=0)
    per_unit: Decimal | None = Field(default=None, ge=0)
    count: str | None = None  # the fact field that counts the units (per_unit)
    proportional: Decimal | None = Field(default=None, ge=0)
    share: str | None = None  # the fact field holding the share in [0, 1] (proportional)
    cap: Decimal | None = Field(default=None, ge=0)  # at most this much per firing

    @model_validator(mode="after")
    def _one_kind(self) -> DeductSpec:
        kinds = [k for k in ("points", "per_unit", "proportional") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("deduct needs exactly one of points, per_unit, proportional")
        if self.per_unit is not None and not self.count:
            raise ValueError('deduct.per_unit needs count = "<field>"')
        if self.proportional is not None and not self.share:
            raise ValueError('deduct.proportional needs share = "<field>"')
        return self

    @property
    def kind(self) -> str:
        """fixed, per_unit or proportional."""
        if self.points is not None:
            return "fixed"
        return "per_unit" if self.per_unit is not None else "proportional"


class FindingSpec(_Spec):
    """A finding a rule records (no points by itself)."""

    severity: Literal["error", "warning", "info"]
    message: str


class RuleSpec(_Spec):
    """A rule: a measure's facts, a condition over them, and a deduction and/or a finding."""

    id: str = Field(pattern=RULE_ID)
    description: str = ""
    clause: str | None = None
    measure: str
    params: dict[str, Any] = Field(default_factory=dict)
    when: str
    deduct: DeductSpec | None = None
    finding: FindingSpec | None = None
    reason: str = ""

    @model_validator(mode="after")
    def _does_something(self) -> RuleSpec:
        if self.deduct is None and self.finding is None:
            raise ValueError("a rule needs a deduct, a finding, or both")
        if self.deduct is not None and not self.clause:
            raise ValueError("a rule that deducts must name its clause")
        if self.deduct is not None and not self.reason:
            raise ValueError("a rule that deducts needs a reason")
        return self


class BandSpec(_Spec):
    """A tier of a discretionary clause: its score range and the signals that choose it."""

    id: str = Field(pattern=RULE_ID)
    label: str
    range: tuple[Decimal, Decimal]
    when: str
    auto: Decimal | Literal["min", "mid", "max"] | None = None
    scale: str | None = (
        None  # a share field in [0, 1]: auto score = clause points x share, kept in range
    )

    @model_validator(mode="after")
    def _ordered(self) -> BandSpec:
        low, high = self.range
        if low > high or low < 0:
            raise ValueError("range must be [low, high] with 0 <= low <= high")
        return self


class ClauseSpec(_Spec):
    """A clause of an item (评分标准), with the rubric's own wording."""

    id: str = Field(pattern=RULE_ID)
    text: str
    points: Decimal = Field(ge=0)
    cap: Decimal | None = Field(default=None, ge=0)  # at most this much deducted (default: points)
    discretionary: bool = False
    measure: str | None = None  # discretionary clauses: the measure whose signals pick a band
    params: dict[str, Any] = Field(default_factory=dict)
    bands: list[BandSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands(self) -> ClauseSpec:
        if self.discretionary and (not self.bands or not self.measure):
            raise ValueError("a discretionary clause needs a measure and bands")
        if self.bands and not self.discretionary:
            raise ValueError("bands belong to discretionary clauses (discretionary = true)")
        return self


class ItemSpec(_Spec):
    """An item of the rubric (二级指标), e.g. 自评通知 (8分)."""

    id: str = Field(pattern=RULE_ID)
    name: str
    section: str
    points: Decimal = Field(ge=0)
    evidence: list[str] = Field(default_factory=list)
    clauses: list[ClauseSpec]


class SectionSpec(_Spec):
    """A section of the rubric (一级指标), e.g. 布置工作 10分."""

    name: str
    points: Decimal = Field(ge=0)


class CalendarSpec(_Spec):
    """Deadline and working-day policy for 提交报告."""

    deadline: dt.date | None = None
    receipt_on_rest_day_counts: bool = False
    deadline_moves_if_rest_day: bool = False
    extra_workdays: list[dt.date] = Field(default_factory=list)
    extra_rest_days: list[dt.date] = Field(default_factory=list)
    # Years whose working days come wholly from the two lists above (outside chinesecalendar's data).
    override_years: list[int] = Field(default_factory=list)


class AssessmentSpec(_Spec):
    """How an automatic assessment places a score inside a chosen band."""

    auto_point_in_band: Literal["min", "mid", "max"] = "mid"


class GradeSpec(_Spec):
    """A grade band of the total score (等级), e.g. 优 for 90 <= total <= 100."""

    label: str = Field(min_length=1)
    lower: Decimal = Field(ge=0)
    upper: Decimal = Field(ge=0)
    lower_inclusive: bool = True
    upper_inclusive: bool = False

    def contains(self, score: Decimal) -> bool:
        """Whether `score` falls in this band."""
        above = score >= self.lower if self.lower_inclusive else score > self.lower
        below = score <= self.upper if self.upper_inclusive else score < self.upper
        return above and below


class RubricSpec(_Spec):
    """A rubric version: sections, items, clauses, rules and every parameter."""

    id: str = Field(pattern=RULE_ID)
    version: str = Field(min_length=1)
    title: str
    issuer: str = ""
    fiscal_years: list[int] = Field(default_factory=list)
    effective_from: dt.date | None = None
    # The rubric to use for its fiscal years when a package names none and several cover them.
    default: bool = False
    total: Decimal = Field(ge=0)
    rule_sets: list[str] = Field(default_factory=list)
    # The importer layout (rules/layout/<version>.toml); absent: the documented default.
    layout: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    assessment: AssessmentSpec = Field(default_factory=AssessmentSpec)
    sections: list[SectionSpec]
    items: list[ItemSpec]
    rules: list[RuleSpec] = Field(default_factory=list)
    # Optional grade bands of the total (优/良/中/差); lint checks they cover 0..total (JX022).
    grades: list[GradeSpec] = Field(default_factory=list)

    def grade_of(self, score: Decimal) -> str | None:
        """The label of the grade band holding `score`; None without grades."""
        return next((g.label for g in self.grades if g.contains(score)), None)


class RuleSetSpec(_Spec):
    """A rule set shared by rubrics (rules/<id>/<version>.toml)."""

    id: str = Field(pattern=RULE_ID)
    version: str = Field(min_length=1)
    title: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(default_factory=list)
