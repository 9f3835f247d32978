"""The evaluation pipeline. Deterministic: no wall clock, no randomness, stable order everywhere.

1. measures derive facts from the package (each measure instance once);
2. in precheck mode, facts that lack evidence are withheld and listed under needs_input;
3. the backend (durable_rules by default) matches every rule and band against the facts;
4. deductions are computed in Decimal, capped per rule and per clause, 四舍五入 to 2 places;
5. the report is assembled in rubric order and rendered to JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import string
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from engine.backends.plan import Backend, EngineFact, Match
from engine.calendar import RubricCalendar
from engine.decimals import json_number, plain, q2
from engine.diagnostics import PackageError, PackageProblem
from engine.evaluate.report import (
    Assessment,
    BandAssessment,
    Capped,
    ClauseScore,
    Deduction,
    Finding,
    ImportNote,
    ItemReport,
    NeedsInput,
    PackageUsed,
    Report,
    RubricUsed,
    RuleSetUsed,
    SectionScore,
    Total,
    deduction,
    evidence_entries,
    finding,
    score_report,
)
from engine.labels import FACTS, PACKAGE_ITEM, label
from engine.measures.base import Fact, FieldValue, MeasureContext, Mode, explained
from engine.model import Package
from engine.model.package import MISSING_PART
from engine.rubric.model import CompiledBand, CompiledRule, Rubric
from engine.rubric.schema import ClauseSpec, ItemSpec

FACT_STEP = Decimal("0.0001")  # facts are quantized once, so both backends compare the same values


@dataclass(slots=True)
class _FactRecord:
    tag: str
    fact: Fact
    index: int
    fields: dict[str, FieldValue]


@dataclass
class _ItemState:
    item: ItemSpec
    deductions: list[Deduction] = field(default_factory=list)
    used: dict[str, Decimal] = field(default_factory=dict)  # per clause id
    bands: list[BandAssessment] = field(default_factory=list)


FACT_LIMIT = Decimal("1e15")  # durable_rules prints larger floats with an exponent and rejects them


def _coerce(key: str, name: str, value: FieldValue) -> FieldValue:
    """Quantize numbers once; refuse what no backend can compare (a clear 4xx, not a crash)."""
    if not isinstance(value, Decimal):
        return value
    if not value.is_finite() or abs(value) >= FACT_LIMIT:
        raise PackageError("package", [PackageProblem(f"{key}.{name}", f"数值无效或过大（{value}）", f"number invalid or too large: {value}")])
    return value.quantize(FACT_STEP)


def _coerce_fields(fact: Fact) -> dict[str, FieldValue]:
    """`_coerce` over a fact's fields, inlined for the common cases (one call per field costs)."""
    out: dict[str, FieldValue] = {}
    for name, value in fact.fields.items():
        if type(value) is Decimal and value.is_finite() and -FACT_LIMIT < value < FACT_LIMIT:
            out[name] = value.quantize(FACT_STEP)
        elif type(value) is bool or type(value) is str:
            out[name] = value
        else:
            out[name] = _coerce(fact.key, name, value)
    return out


class _Template(string.Formatter):
    """str.format over fact fields; Decimals print plainly, unknown names print empty."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        value = kwargs.get(str(key), "")
        if isinstance(value, Decimal):
            return plain(q2(value))
        if isinstance(value, bool):
            return "是" if value else "否"
        return value


_FORMAT = _Template()
# template -> its (literal, field name) pieces, when every field is a plain name without a
# format spec or conversion (all bundled templates); None: use the Formatter.
_PIECES: dict[str, tuple[tuple[str, str | None], ...] | None] = {}


def _pieces(template: str) -> tuple[tuple[str, str | None], ...] | None:
    pieces = _PIECES.get(template, ())
    if pieces != ():
        return pieces
    try:
        parsed = tuple(
            (literal, name)
            for literal, name, spec, conversion in _FORMAT.parse(template)
            if name is None or (name.isidentifier() and not spec and conversion is None)
        )
        simple = len(parsed) == len(list(_FORMAT.parse(template)))
    except ValueError:
        simple = False  # the Formatter raises the same error, below
    if len(_PIECES) > 4096:
        _PIECES.clear()
    _PIECES[template] = parsed if simple else None
    return _PIECES[template]


def _fill(template: str, record: _FactRecord) -> str:
    pieces = _pieces(template)
    if pieces is None:
        values: dict[str, Any] = {**record.fact.detail, **record.fields, "subject": record.fact.subject}
        return _FORMAT.format(template, **values)
    # The same lookup as _Template.get_value over {**detail, **fields, "subject": subject}.
    fields, detail = record.fields, record.fact.detail
    out: list[str] = []
    for literal, name in pieces:
        out.append(literal)
        if name is None:
            continue
        value: Any
        if name == "subject":
            value = record.fact.subject
        elif name in fields:
            value = fields[name]
        else:
            value = detail.get(name, "")
        if isinstance(value, Decimal):
            value = plain(q2(value))
        elif isinstance(value, bool):
            value = "是" if value else "否"
        out.append(format(value, ""))
    return "".join(out)


@dataclass(frozen=True)
class EvaluationInput:
    """What an evaluation depends on, and nothing else."""

    package: Package
    rubric: Rubric
    mode: Mode
    as_of: dt.date


# id(package) -> (a weak reference to it, its digest). Weak: the cache must not keep packages
# alive (it once held up to 4,096 of them, ~0.7 MB each, in a service scoring new ones).
_PACKAGE_DIGESTS: dict[int, tuple[weakref.ref[Package], str]] = {}


def _forget(key: int) -> Callable[[weakref.ref[Package]], None]:
    def drop(ref: weakref.ref[Package]) -> None:
        entry = _PACKAGE_DIGESTS.get(key)
        if entry is not None and entry[0] is ref:
            del _PACKAGE_DIGESTS[key]

    return drop


def package_digest(package: Package) -> str:
    """sha256 of the package's canonical JSON, computed once per package object (it is frozen)."""
    key = id(package)
    hit = _PACKAGE_DIGESTS.get(key)
    if hit is not None and hit[0]() is package:
        return hit[1]
    # The same bytes as model_dump_json().encode(), straight from the serializer: model_dump_json
    # decodes its bytes to a str that would be encoded back (≈ 0.1 ms for the example's ≈ 97 kB).
    # A typed Package has nothing to warn about, and the warning checks cost a quarter of the
    # serialisation.
    data: bytes = package.__pydantic_serializer__.to_json(package, warnings=False)
    digest = hashlib.sha256(data).hexdigest()
    _PACKAGE_DIGESTS[key] = (weakref.ref(package, _forget(key)), digest)
    return digest


def decision_id(package: Package, rubric: Rubric, mode: str, as_of: dt.date) -> str:
    """A stable id for the decision: the same package, rubric, mode and as_of give the same id."""
    digest = hashlib.sha256()
    for part in (package_digest(package), rubric.sha256, mode, as_of.isoformat()):
        digest.update(part.encode())
        digest.update(b"\0")
    return "dec_" + digest.hexdigest()[:32]


PhaseHook = Callable[[str, float], None]


class Evaluator:
    """Scores packages with one backend.

    `on_phase`, when given, is called after each evaluation with each phase's seconds
    ("measures", "validation", "matching", "report"); without it no clock is read.
    """

    def __init__(self, backend: Backend, *, on_phase: PhaseHook | None = None) -> None:
        self.backend = backend
        self.on_phase = on_phase

    def evaluate(
        self, package: Package, rubric: Rubric, *, mode: Mode, as_of: dt.date
    ) -> dict[str, Any]:
        """The report, as a JSON-ready dict (numbers are Decimals until rendered)."""
        return self._run(package, rubric, mode, as_of, None)

    def explain(
        self, package: Package, rubric: Rubric, *, mode: Mode, as_of: dt.date
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The report, and why every rule and band did or did not apply (engine.evaluate.explain)."""
        from engine.evaluate.explain import explain

        kept: list[tuple[list[_FactRecord], list[tuple[str, Fact]], set[Match]]] = []
        report = self._run(package, rubric, mode, as_of, kept)
        records, withheld, matches = kept[0]
        return report, explain(rubric, records, withheld, matches, report)

    def _run(
        self,
        package: Package,
        rubric: Rubric,
        mode: Mode,
        as_of: dt.date,
        keep: list[tuple[list[_FactRecord], list[tuple[str, Fact]], set[Match]]] | None,
    ) -> dict[str, Any]:
        """One evaluation; with `keep`, also hands back the facts and matches (for explain)."""
        hook = self.on_phase
        clock = time.perf_counter if hook is not None else None
        spent = {"measures": 0.0, "validation": 0.0} if clock is not None else None
        ctx = MeasureContext(
            mode=mode,
            as_of=as_of,
            calendar=RubricCalendar(rubric.spec.calendar),
            deadline=rubric.spec.calendar.deadline,
            data=rubric.data,
        )
        records: list[_FactRecord] = []
        withheld: list[tuple[str, Fact]] = []
        precheck = mode == "precheck"
        for tag in sorted(rubric.measures):
            instance = rubric.measures[tag]
            if clock is not None and spent is not None:
                start = clock()
                facts = instance.spec.fn(package, instance.params, ctx)
                middle = clock()
                self._record(tag, facts, precheck, records, withheld)
                spent["measures"] += middle - start
                spent["validation"] += clock() - middle
            else:
                self._record(
                    tag, instance.spec.fn(package, instance.params, ctx), precheck, records, withheld
                )
        start = clock() if clock is not None else 0.0
        matches = self.backend.match(
            rubric.plan, [EngineFact(r.tag, r.index, r.fields) for r in records]
        )
        matched = clock() if clock is not None else 0.0
        report = _Assembler(package, rubric, mode, as_of, records, withheld, matches).report()
        if keep is not None:
            keep.append((records, withheld, matches))
        if hook is not None and clock is not None and spent is not None:
            hook("measures", spent["measures"])
            hook("validation", spent["validation"])
            hook("matching", matched - start)
            hook("report", clock() - matched)
        return report

    @staticmethod
    def _record(
        tag: str,
        facts: list[Fact],
        precheck: bool,
        records: list[_FactRecord],
        withheld: list[tuple[str, Fact]],
    ) -> None:
        for fact in facts:
            if precheck and fact.needs_input:
                withheld.append((tag, fact))
                continue
            records.append(_FactRecord(tag, fact, len(records), _coerce_fields(fact)))


class _Assembler:
    def __init__(
        self,
        package: Package,
        rubric: Rubric,
        mode: Mode,
        as_of: dt.date,
        records: list[_FactRecord],
        withheld: list[tuple[str, Fact]],
        matches: set[Match],
    ) -> None:
        self.package, self.rubric, self.mode, self.as_of = package, rubric, mode, as_of
        self.records = records
        self.withheld = withheld
        self.matched: dict[str, list[_FactRecord]] = {}
        for rule_id, index in sorted(matches, key=lambda m: m[1]):
            self.matched.setdefault(rule_id, []).append(records[index])
        self.items = {item.id: _ItemState(item) for item in rubric.spec.items}
        self.findings: list[Finding] = []
        self.finding_ids: dict[int, list[str]] = {}  # fact index -> ids of its findings

    def report(self) -> dict[str, Any]:
        # Findings first, so a deduction can cite the findings recorded on the same fact.
        for rule in self.rubric.rules:
            if rule.spec.finding is not None:
                for record in self.matched.get(rule.spec.id, []):
                    self._finding(rule, record)
        for rule in self.rubric.rules:
            if rule.spec.deduct is not None:
                for record in self.matched.get(rule.spec.id, []):
                    self._deduct(rule, record)
        for clause_bands in self._bands_by_clause().values():
            self._assess(clause_bands)
        return self._render()

    # -- deductions ------------------------------------------------------------------------

    def _deduct(self, rule: CompiledRule, record: _FactRecord) -> None:
        spec, item, clause = rule.spec.deduct, rule.item, rule.clause
        if spec is None or item is None or clause is None:
            return  # a finding-only rule
        if spec.points is not None:
            raw = spec.points
        elif spec.per_unit is not None:
            raw = spec.per_unit * _num(record.fields[spec.count or ""])
        else:
            raw = (spec.proportional or Decimal(0)) * _num(record.fields[spec.share or ""])
        if spec.cap is not None:
            raw = min(raw, spec.cap)
        state = self.items[item.id]
        cap = clause.cap if clause.cap is not None else clause.points
        used = state.used.get(clause.id, Decimal(0))
        points = q2(max(Decimal(0), min(q2(raw), cap - used)))
        state.used[clause.id] = used + points
        reason = _fill(rule.spec.reason, record)
        if self.mode == "bureau" and record.fact.needs_input:
            reason += "（未提供佐证：" + "；".join(record.fact.needs_input) + "）"
        state.deductions.append(
            deduction(
                rule=rule.spec.id,
                points=points,
                reason=reason,
                clause=clause.id,
                clause_text=clause.text,
                subject=record.fact.subject,
                evidence=evidence_entries(record.fact.evidence),
                source=rule.source,
                findings=self.finding_ids.get(record.index, []),
                capped=Capped(computed=q2(raw), clause_cap=cap) if points < q2(raw) else None,
            )
        )

    def _finding(self, rule: CompiledRule, record: _FactRecord) -> None:
        assert rule.spec.finding is not None
        fact = record.fact
        built = explained(fact.evidence, fact.detail)
        evidence, detail = built if built is not None else (fact.evidence, fact.detail)
        finding_id = f"F{len(self.findings) + 1}"
        self.finding_ids.setdefault(record.index, []).append(finding_id)
        self.findings.append(
            finding(
                id=finding_id,
                rule=rule.spec.id,
                severity=rule.spec.finding.severity,
                message=_fill(rule.spec.finding.message, record),
                location=evidence[0].location if evidence else "",
                table=detail.get("table", ""),
                row=detail.get("row", ""),
                column=detail.get("column", ""),
                expected=detail.get("expected", ""),
                found=detail.get("found", ""),
                expression=detail.get("expression", ""),
                evidence=evidence_entries(evidence),
                source=rule.source,
            )
        )

    # -- discretionary clauses -------------------------------------------------------------

    def _bands_by_clause(self) -> dict[str, list[CompiledBand]]:
        out: dict[str, list[CompiledBand]] = {}
        for band in self.rubric.bands:
            out.setdefault(band.clause.id, []).append(band)
        return out

    def _assess(self, bands: list[CompiledBand]) -> None:
        first = bands[0]
        clause, item = first.clause, first.item
        state = self.items[item.id]
        facts = [r for r in self.records if r.tag == first.tag]
        if not facts:
            state.bands.append(
                BandAssessment(
                    clause=clause.id, band=None, label="待补充材料", range=None, score=None, signals={}
                )
            )
            return
        record = facts[0]
        chosen = next((b for b in bands if record in self.matched.get(b.spec.id, [])), None)
        signals = dict(record.fields)
        if chosen is None:
            state.bands.append(
                BandAssessment(
                    clause=clause.id,
                    band=None,
                    label="无匹配档次",
                    range=None,
                    score=clause.points,
                    signals=signals,
                )
            )
            return
        low, high = chosen.spec.range
        score = self._auto_score(chosen, clause, record)
        state.bands.append(
            BandAssessment(
                clause=clause.id,
                band=chosen.spec.id,
                label=chosen.spec.label,
                range=[low, high],
                score=score,
                signals=signals,
            )
        )
        points = q2(clause.points - score)
        if points > 0:
            cap = clause.cap if clause.cap is not None else clause.points
            used = state.used.get(clause.id, Decimal(0))
            taken = q2(min(points, cap - used))
            state.used[clause.id] = used + taken
            # A measure that explains itself in Chinese (an `explanation` field) is shown by it,
            # so signal names stay in the JSON report's `signals`, off the sheet and the page.
            explained = signals.get("explanation")
            shown = (
                explained
                if isinstance(explained, str)
                else "；".join(f"{label(FACTS, k)} {_show(v)}" for k, v in signals.items())
            )
            state.deductions.append(
                deduction(
                    rule=chosen.spec.id,
                    points=taken,
                    reason=f"{chosen.spec.label}：自动评估 {plain(score)} 分（本档 {plain(low)}–{plain(high)} 分，酌情）；依据：{shown}",
                    clause=clause.id,
                    clause_text=clause.text,
                    subject=record.fact.subject,
                    evidence=evidence_entries(record.fact.evidence),
                    source=chosen.source,
                    findings=self.finding_ids.get(record.index, []),
                )
            )

    def _auto_score(self, band: CompiledBand, clause: ClauseSpec, record: _FactRecord) -> Decimal:
        low, high = band.spec.range
        if band.spec.scale:
            scaled = q2(clause.points * _num(record.fields[band.spec.scale]))
            return min(max(scaled, low), high)
        # `auto = 0` is a real placement (the band's floor), so only a missing value falls back.
        auto = (
            band.spec.auto
            if band.spec.auto is not None
            else self.rubric.spec.assessment.auto_point_in_band
        )
        if isinstance(auto, Decimal):
            return min(max(auto, low), high)
        return {"min": low, "max": high, "mid": q2((low + high) / 2)}[auto]

    # -- report ----------------------------------------------------------------------------

    def _render(self) -> dict[str, Any]:
        spec = self.rubric.spec
        items_out: list[ItemReport] = []
        for item in spec.items:
            state = self.items[item.id]
            discretionary = any(c.discretionary for c in item.clauses)
            if discretionary:
                assessment = Assessment(
                    mode="auto",
                    band="；".join(b.label for b in state.bands),
                    signals={k: v for b in state.bands for k, v in b.signals.items()},
                    bands=state.bands,
                )
            else:
                assessment = Assessment(mode="rule", band=None, signals={})
            items_out.append(
                ItemReport(
                    id=item.id,
                    name=item.name,
                    section=item.section,
                    max=item.points,
                    score=item.points,  # scored below, with everything else, by score_report
                    evidence_required=item.evidence,
                    clauses=[
                        ClauseScore(
                            id=clause.id,
                            text=clause.text,
                            max=clause.points,
                            score=clause.points,
                            discretionary=clause.discretionary,
                        )
                        for clause in item.clauses
                    ],
                    assessment=assessment,
                    deductions=state.deductions,
                )
            )
        needs: list[NeedsInput] = []
        for tag, fact in self.withheld:
            for item_name in self._items_using(tag):
                for what in fact.needs_input:
                    entry = NeedsInput(item=item_name, what=what)
                    if entry not in needs:
                        needs.append(entry)
        if self.mode == "precheck":
            for w in self.package.warnings:
                entry = NeedsInput(item=PACKAGE_ITEM, what=f"缺少{w.text}")
                if w.code == MISSING_PART and entry not in needs:
                    needs.append(entry)
            # A figure the OCR read with low confidence is never scored silently: the department
            # confirms it (the page and cell are named).
            for warning in self.package.warnings:
                if warning.code == "IMPORT_LOW_CONFIDENCE":
                    entry = NeedsInput(
                        item=warning.location.render(),
                        what=f"扫描件中的数字「{warning.text}」识别置信度低，请核对",
                    )
                    if entry not in needs:
                        needs.append(entry)
        dossier = self.package.dossier
        deadline = dossier.deadline or spec.calendar.deadline
        report = Report(
            decision_id=decision_id(self.package, self.rubric, self.mode, self.as_of),
            rubric=RubricUsed(
                id=spec.id,
                version=spec.version,
                sha256=self.rubric.sha256,
                title=spec.title,
                rule_sets=[
                    RuleSetUsed(id=r.id, version=r.version, sha256=r.sha256)
                    for r in self.rubric.rule_sets
                ],
            ),
            package=PackageUsed(
                department=dossier.department,
                fiscal_year=dossier.fiscal_year,
                received_on=dossier.received_on.isoformat() if dossier.received_on else None,
                deadline=deadline.isoformat() if deadline else None,
            ),
            mode=self.mode,
            as_of=self.as_of.isoformat(),
            total=Total(max=spec.total, score=spec.total),
            sections=[SectionScore(name=s.name, max=s.points, score=s.points) for s in spec.sections],
            items=items_out,
            findings=self.findings,
            needs_input=needs,
            warnings=[
                ImportNote(
                    code=w.code, message=w.message, location=w.location.render(), text=w.text
                )
                for w in self.package.warnings
            ],
        )
        score_report(report, spec.grade_of if spec.grades else None)
        return report.to_json()

    def _items_using(self, tag: str) -> list[str]:
        names: list[str] = []
        for rule in self.rubric.rules:
            if rule.tag == tag and rule.item is not None and rule.item.name not in names:
                names.append(rule.item.name)
        for band in self.rubric.bands:
            if band.tag == tag and band.item.name not in names:
                names.append(band.item.name)
        return names or ["（发现）"]


def _num(value: FieldValue) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise TypeError(f"expected a number, got {value!r}")
    return value


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return plain(q2(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Unusual(Exception):
    """A value the fast renderer does not handle: render with the json module instead."""


_quote = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for strings


def _scalar(value: Any) -> str:
    """A leaf (not str, not a container) as JSON text, as json.dumps writes it."""
    kind = type(value)
    if kind is Decimal:
        value = json_number(value)
        kind = type(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    raise _Unusual


def _write(value: Any, indent: str, out: list[str]) -> None:
    """json.dumps(_jsonable(value), ensure_ascii=False, indent=2), appended to `out`.

    The json module renders with an indent in pure Python, generically; this does the same
    for the report's own types only (dict with str keys, list, tuple, str, bool, int, finite
    float, Decimal, None), byte for byte, about four times faster. Leaves are written by the
    container's loop (a string in one concatenation), not by a call each: most of a report's
    values are strings, and a call per value was half the cost.
    """
    kind = type(value)
    if kind is dict:
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        lead = "{\n" + inner
        between = ",\n" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            kind = type(item)
            if kind is str:
                out += (lead, _quote(key), ": ", _quote(item))
            elif kind is dict or kind is list or kind is tuple:
                out += (lead, _quote(key), ": ")
                _write(item, inner, out)
            else:
                out += (lead, _quote(key), ": ", _scalar(item))
            lead = between
        out.append("\n" + indent + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        lead = "[\n" + inner
        between = ",\n" + inner
        for item in value:
            kind = type(item)
            if kind is str:
                out += (lead, _quote(item))
            elif kind is dict or kind is list or kind is tuple:
                out.append(lead)
                _write(item, inner, out)
            else:
                out += (lead, _scalar(item))
            lead = between
        out.append("\n" + indent + "]")
    elif kind is str:
        out.append(_quote(value))
    else:
        out.append(_scalar(value))


def render_json(report: Mapping[str, Any]) -> str:
    """The report as JSON text: UTF-8, 2-space indent, numbers with at most 2 decimals."""
    out: list[str] = []
    try:
        _write(report, "", out)
    except (_Unusual, RecursionError):
        return json.dumps(_jsonable(report), ensure_ascii=False, indent=2) + "\n"
    out.append("\n")
    return "".join(out)



def evaluate(
    package: Package,
    rubric: Rubric,
    *,
    backend: Backend,
    mode: Literal["bureau", "precheck"],
    as_of: dt.date,
) -> dict[str, Any]:
    """Convenience wrapper: one evaluation with `backend`."""
    return Evaluator(backend).evaluate(package, rubric, mode=mode, as_of=as_of)
