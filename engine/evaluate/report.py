"""The report as one typed model: items, clauses, assessments, deductions, findings, evidence.

The evaluator builds it, an adjustment rebuilds it, and both score it with `score_report`: a
deduction is made by `deduction()` only, and clause, item, section and total scores are summed
in one place. `Report.to_json()` gives the dict `render_json` writes; its JSON is the contract
of docs/report-format.md, byte for byte (optional keys stay absent until set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.decimals import q2
from engine.measures.base import Evidence
from engine.model.facts import FieldValue

ZERO = Decimal(0)


class _Part(BaseModel):
    # Not frozen: an adjustment edits a copy. Unknown keys are errors: the contract is closed.
    model_config = ConfigDict(extra="forbid")

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict: declared order, unset optional keys left out, Decimals kept."""
        return self.model_dump(exclude_unset=True)


class EvidenceEntry(_Part):
    """A value and where it was read, as rendered (`package.txt:63 表 / 行 / 列`)."""

    location: str
    value: str


class Capped(_Part):
    """A deduction cut down by its clause's cap: what the rule computed, and the cap."""

    computed: Decimal
    clause_cap: Decimal


class Deduction(_Part):
    """Points taken off one clause, with the rule, the reason, the evidence and the source."""

    rule: str
    points: Decimal
    reason: str
    clause: str
    clause_text: str
    subject: str
    evidence: list[EvidenceEntry]
    source: str
    findings: list[str] | None = None  # absent on a reviewer's adjustment
    capped: Capped | None = None
    adjusted_by: str | None = None


class Finding(_Part):
    """A rule's finding, with or without a deduction."""

    id: str
    rule: str
    severity: str
    message: str
    location: str
    table: str
    row: str
    column: str
    expected: str
    found: str
    expression: str
    evidence: list[EvidenceEntry]
    source: str


class BandAssessment(_Part):
    """How a discretionary clause was assessed: its band, the band's range, the score, signals."""

    clause: str
    band: str | None
    label: str
    range: list[Decimal] | None
    score: Decimal | None
    signals: dict[str, FieldValue]


class AdjustmentRecord(_Part):
    """A reviewer's score for a discretionary clause, within one of its bands."""

    clause: str
    band: str
    label: str
    score: Decimal
    reason: str
    actor: str
    at: str


class Assessment(_Part):
    """`rule`, `auto` (discretionary clauses assessed automatically) or `reviewer`."""

    mode: str
    band: str | None
    signals: dict[str, FieldValue]
    bands: list[BandAssessment] | None = None
    adjustments: list[AdjustmentRecord] | None = None


class ClauseScore(_Part):
    """A clause of an item with its score."""

    id: str
    text: str
    max: Decimal
    score: Decimal
    discretionary: bool


class ItemReport(_Part):
    """An item of the rubric: its clauses, assessment and deductions."""

    id: str
    name: str
    section: str
    max: Decimal
    score: Decimal
    evidence_required: list[str]
    clauses: list[ClauseScore]
    assessment: Assessment
    deductions: list[Deduction]


class SectionScore(_Part):
    """A section of the rubric with the sum of its items."""

    name: str
    max: Decimal
    score: Decimal


class RuleSetUsed(_Part):
    """A rule set the rubric used, with its file's hash."""

    id: str
    version: str
    sha256: str


class RubricUsed(_Part):
    """The rubric version: its bundle's sha256 covers every file it loaded."""

    id: str
    version: str
    sha256: str
    title: str
    rule_sets: list[RuleSetUsed]


class PackageUsed(_Part):
    """Who and which year, and the dates that timeliness is judged on."""

    department: str
    fiscal_year: int
    received_on: str | None
    deadline: str | None


class Total(_Part):
    """The score out of the rubric's total."""

    max: Decimal
    score: Decimal
    grade: str | None = None  # set only when the rubric declares grades (absent otherwise)


class NeedsInput(_Part):
    """Evidence a pre-check needs before an item can be scored."""

    item: str
    what: str


class ImportNote(_Part):
    """Something the importers skipped or could not read (`warnings` in the JSON)."""

    code: str
    message: str
    location: str
    text: str


class Report(_Part):
    """One decision: the rubric, the package, every item and finding."""

    decision_id: str
    rubric: RubricUsed
    package: PackageUsed
    mode: str
    as_of: str
    total: Total
    sections: list[SectionScore]
    items: list[ItemReport]
    findings: list[Finding]
    needs_input: list[NeedsInput]
    warnings: list[ImportNote]


def _trusted(cls: type[_Part], values: dict[str, Any]) -> Any:
    """An instance of `cls` with every field in `values`, not validated: what `model_construct`
    does without its generic loop, for parts the evaluator makes by the hundred from values
    it has type-checked itself."""
    part = _new(cls)
    _set_dict(part, values)
    _set_fields_set(part, set(values))
    _set_extra(part, None)
    _set_private(part, None)
    return part


# BaseModel's own slot descriptors, called directly: object.__setattr__(part, name, …) finds the
# same descriptor by name each time, and costs twice as much (≈ 240 parts per evaluation).
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _entry(location: str, value: str) -> EvidenceEntry:
    """`EvidenceEntry(location=…, value=…)` from two strings, not validated."""
    entry: EvidenceEntry = _trusted(EvidenceEntry, {"location": location, "value": value})
    return entry


_STR_ONLY = {str}


def finding(
    *,
    id: str,  # the field's name in the report
    rule: str,
    severity: str,
    message: str,
    location: str,
    table: str,
    row: str,
    column: str,
    expected: str,
    found: str,
    expression: str,
    evidence: list[EvidenceEntry],
    source: str,
) -> Finding:
    """`Finding(...)`, not validated when every text is a str and the evidence entries are
    EvidenceEntry (as the evaluator makes them); validated otherwise."""
    values: dict[str, Any] = {
        "id": id,
        "rule": rule,
        "severity": severity,
        "message": message,
        "location": location,
        "table": table,
        "row": row,
        "column": column,
        "expected": expected,
        "found": found,
        "expression": expression,
        "evidence": evidence,
        "source": source,
    }
    # One pass over the twelve texts (a set of their types), not a generator per finding.
    if {
        type(id),
        type(rule),
        type(severity),
        type(message),
        type(location),
        type(table),
        type(row),
        type(column),
        type(expected),
        type(found),
        type(expression),
        type(source),
    } == _STR_ONLY and all(type(e) is EvidenceEntry for e in evidence):
        result: Finding = _trusted(Finding, values)
        return result
    return Finding(**values)


def evidence_entries(evidence: Iterable[Evidence]) -> list[EvidenceEntry]:
    """A fact's evidence as report entries."""
    out = []
    for e in evidence:
        location, value = e.location, e.value
        if type(location) is str and type(value) is str:
            out.append(_entry(location, value))
        else:  # not a plain string: let the model validate (and refuse) it
            out.append(EvidenceEntry(location=location, value=value))
    return out


def deduction(
    *,
    rule: str,
    points: Decimal,
    reason: str,
    clause: str,
    clause_text: str,
    subject: str,
    evidence: list[EvidenceEntry],
    source: str,
    findings: list[str] | None = None,
    capped: Capped | None = None,
    adjusted_by: str | None = None,
) -> Deduction:
    """The one place a deduction is made (by a rule, a band, or a reviewer's adjustment)."""
    optional: dict[str, Any] = {
        key: value
        for key, value in (
            ("findings", findings),
            ("capped", capped),
            ("adjusted_by", adjusted_by),
        )
        if value is not None
    }
    return Deduction(
        rule=rule,
        points=points,
        reason=reason,
        clause=clause,
        clause_text=clause_text,
        subject=subject,
        evidence=evidence,
        source=source,
        **optional,
    )


def used_on(deductions: Iterable[Deduction], clause: str) -> Decimal:
    """Points already taken off `clause`."""
    return sum((d.points for d in deductions if d.clause == clause), ZERO)


def score_report(report: Report, grade_of: Callable[[Decimal], str | None] | None = None) -> None:
    """Clause, item, section and total scores from the deductions: the one place they are summed
    (and the grade given, when the rubric declares grades)."""
    for item in report.items:
        for clause in item.clauses:
            clause.score = q2(clause.max - used_on(item.deductions, clause.id))
        item.score = q2(item.max - sum((d.points for d in item.deductions), ZERO))
    for section in report.sections:
        section.score = q2(
            sum((i.score for i in report.items if i.section == section.name), ZERO)
        )
    report.total.score = q2(sum((i.score for i in report.items), ZERO))
    if grade_of is not None:
        report.total.grade = grade_of(report.total.score)


def read_report(data: Mapping[str, Any]) -> Report:
    """A report dict (e.g. a stored report parsed with Decimals) as the typed model."""
    return Report.model_validate(dict(data))
