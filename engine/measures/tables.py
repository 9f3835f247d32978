"""Measures over the indicator part of the self-evaluation tables: weights, refinement, quality, scoring.

Every scheme, label, marker and threshold is a parameter (rules/indicator-tables/<version>.toml).
The defaults mirror that file, because a rubric's discretionary clause may name a measure
without parameters; tests keep the two equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Literal

from pydantic import Field

from engine.decimals import plain
from engine.measures._arith import (
    BLANK,
    DATA_FILE_VOCABULARY,
    ZERO,
    amount,
    cell_evidence,
    funding_total_row,
    is_marker,
    is_na_row,
    ratio,
    select_tables,
    shown,
    sum_expression,
    table_label,
    total,
    vocabulary,
)
from engine.measures.base import (
    Evidence,
    Explanation,
    Fact,
    MeasureContext,
    Params,
    explain_later,
    measure,
)
from engine.measures.quantity import (
    ParsedValue,
    QuantityVocabulary,
    expected_score,
    parse_value,
)
from engine.measures.text import norm, same_name
from engine.model import IndicatorRow, Package, SelfEvalTable

TableChoice = Literal["all", "department", "projects"]

# Every parameter below is required: keywords, names and thresholds come from TOML
# (rules/indicator-tables/<version>.toml), never from Python defaults.


# ---------------------------------------------------------------------------- weights


class WeightParams(Params):
    """The 一级 weight scheme and how compliance is counted."""

    scheme: dict[str, Decimal] = Field(min_length=1)  # 一级 name -> points, in form order
    basis: Literal["component", "table"]
    tables: TableChoice = "all"
    funding_component: str  # the scheme entry read from the funding block, e.g. 预算执行率
    funding_row: str  # e.g. 年度资金总额
    points_column: str  # e.g. 分值
    na_markers: list[str]


@dataclass(frozen=True)
class _Component:
    name: str
    expected: Decimal
    found: Decimal
    expression: str
    compliant: bool
    evidence: tuple[Evidence, ...]


def _component_of(level1: str, names: Sequence[str]) -> str | None:
    exact = next((n for n in names if norm(n) == norm(level1)), None)
    return exact or next((n for n in names if same_name(n, level1)), None)


def _components(table: SelfEvalTable, params: WeightParams) -> list[_Component]:
    names = list(params.scheme)
    rows: dict[str, list[IndicatorRow]] = {n: [] for n in names}
    for row in table.indicators:
        if is_na_row(row, params.na_markers):
            continue
        key = _component_of(row.level1, names) or row.level1
        rows.setdefault(key, []).append(row)
    out: list[_Component] = []
    for name, members in rows.items():
        expected = params.scheme.get(name, ZERO)
        if name == params.funding_component:
            out.append(_funding_component(table, params, expected))
            continue
        found = total(amount(r.points) for r in members)
        holds = found == expected
        expression = sum_expression(
            [shown(r.points) for r in members], found, plain(expected), holds
        )
        # The weight written in the 一级 cell ("(50分)") must agree with the scheme as well.
        in_scheme = name in params.scheme  # an extra 一级 is wrong already; no second note
        stated = sorted(
            {r.level1_points for r in members if r.level1_points is not None and in_scheme}
        )
        for weight in stated:
            if weight != expected:
                holds = False
                expression += f"；一级指标注明 {plain(weight)}分 ≠ {plain(expected)}"
        out.append(
            _Component(
                name,
                expected,
                found,
                expression,
                holds,
                cell_evidence(*(r.points for r in members)),
            )
        )
    return out


def _funding_component(table: SelfEvalTable, params: WeightParams, expected: Decimal) -> _Component:
    index = funding_total_row(table, params.funding_row)
    cell = table.funding[index].cells.get(params.points_column) if index is not None else None
    value = amount(cell)
    found = value if value is not None else ZERO
    holds = value == expected
    expression = (
        f"{params.funding_row} {params.points_column} {shown(cell)} "
        f"{'=' if holds else '≠'} {plain(expected)}"
    )
    return _Component(
        params.funding_component, expected, found, expression, holds, cell_evidence(cell)
    )


@measure(
    "weight_compliance",
    params=WeightParams,
    fields={"compliant": "bool", "share": "number", "expected": "number", "found": "number"},
)
def weight_compliance(package: Package, params: WeightParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per (table, 一级 component) or per table: do the weights follow the scheme?

    `share` is 1/N over the facts yielded, so Σ share over the non-compliant facts is the
    proportion a rubric deducts.
    """
    drafts: list[tuple[str, str, dict[str, str], bool, Decimal, Decimal, tuple[Evidence, ...]]] = []
    for table in select_tables(package, params.tables):
        label = table_label(table)
        components = _components(table, params)
        if params.basis == "component":
            for c in components:
                detail = _detail(label, c.name, c.expected, c.found, c.expression)
                drafts.append(
                    (
                        f"{label}/{c.name}",
                        f"{label}「{c.name}」",
                        detail,
                        c.compliant,
                        c.expected,
                        c.found,
                        c.evidence,
                    )
                )
            continue
        expected = total(c.expected for c in components)
        found = total(c.found for c in components)
        expression = "；".join(f"{c.name}：{c.expression}" for c in components)
        evidence = tuple(e for c in components for e in c.evidence)
        compliant = all(c.compliant for c in components)
        detail = _detail(label, "一级指标权重", expected, found, expression)
        drafts.append((label, f"{label}权重", detail, compliant, expected, found, evidence))
    share = Decimal(1) / Decimal(len(drafts)) if drafts else ZERO
    return [
        Fact(
            key=key,
            subject=subject,
            fields={"compliant": ok, "share": share, "expected": expected, "found": found},
            evidence=evidence,
            detail=detail,
        )
        for key, subject, detail, ok, expected, found, evidence in drafts
    ]


def _detail(
    table: str, row: str, expected: Decimal, found: Decimal, expression: str
) -> dict[str, str]:
    return {
        "table": table,
        "row": row,
        "column": "分值",
        "expected": plain(expected),
        "found": plain(found),
        "expression": expression,
    }


# ---------------------------------------------------------------------------- refinement


class RefinementParams(Params):
    """Which rows count as 不适用."""

    tables: TableChoice = "all"
    na_markers: list[str]


def _level2_groups(table: SelfEvalTable) -> dict[tuple[str, str], list[IndicatorRow]]:
    groups: dict[tuple[str, str], list[IndicatorRow]] = {}
    for row in table.indicators:
        groups.setdefault((norm(row.level1), norm(row.level2)), []).append(row)
    return groups


@measure(
    "indicator_refinement",
    params=RefinementParams,
    fields={"refined_share": "number", "level2_count": "number", "refined_count": "number"},
)
def indicator_refinement(
    package: Package, params: RefinementParams, ctx: MeasureContext
) -> list[Fact]:
    """One fact per package: the share of 二级 indicators with a 三级 row that states a target."""
    level2 = refined = 0
    evidence: list[Evidence] = []
    for table in select_tables(package, params.tables):
        for (_l1, l2), rows in _level2_groups(table).items():
            live = [r for r in rows if not is_na_row(r, params.na_markers)]
            if not live:
                continue  # a 二级 marked 不适用 as a whole is left out
            level2 += 1
            if any(norm(r.level3) and norm(r.target.text) for r in live):
                refined += 1
            else:
                first = live[0]
                evidence.append(
                    Evidence.at(first.location, f"二级指标「{l2}」未细化到有指标值的三级指标")
                )
    return [
        Fact(
            key="package",
            subject="绩效指标细化到三级指标",
            fields={
                "refined_share": ratio(refined, level2),
                "level2_count": Decimal(level2),
                "refined_count": Decimal(refined),
            },
            evidence=tuple(evidence),
        )
    ]


# ---------------------------------------------------------------------------- quality


class QualityParams(Params):
    """Signals for the discretionary clause on 三级 indicators (measurable, core, relevant)."""

    tables: TableChoice = "all"
    vocabulary: str = DATA_FILE_VOCABULARY  # the parsing vocabulary (rules/vocabulary/…)
    na_markers: list[str]
    # A table with fewer or more live indicator rows is "not 精简实用" (unverified range).
    min_indicators: int = Field(ge=0)
    max_indicators: int = Field(ge=0)
    # A project is small when its 全年预算数 is below this share of the department's.
    small_project_share: Decimal = Field(ge=0)
    funding_row: str
    budget_column: str
    # 一级 indicators in which a small project's copy of a department indicator counts.
    copy_level1: list[str]
    # The 二级 categories a table should cover, matched as substrings of the 二级 name.
    categories: list[str]


def _target(row: IndicatorRow, vocab: QuantityVocabulary) -> ParsedValue:
    return parse_value(row.target.text, vocab, indicator_name=row.level3)


def _quantities(parsed: ParsedValue) -> frozenset[tuple[str, Decimal, str, Decimal | None]]:
    return frozenset((q.comparator, q.value, q.unit, q.upper) for q in parsed.parts)


def _same_target(a: ParsedValue, b: ParsedValue) -> bool:
    if norm(a.text) == norm(b.text):
        return True
    both = a.kind == b.kind == "quantitative"
    return both and _quantities(a) == _quantities(b)


def _budget(table: SelfEvalTable, params: QualityParams) -> Decimal | None:
    index = funding_total_row(table, params.funding_row)
    return None if index is None else amount(table.funding[index].cells.get(params.budget_column))


@measure(
    "indicator_quality",
    params=QualityParams,
    fields={
        "measurable_share": "number",
        "unmeasurable_count": "number",
        "duplicate_count": "number",
        "count_out_of_range": "number",
        "copied_count": "number",
        "category_share": "number",
    },
)
def indicator_quality(package: Package, params: QualityParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per package with the objective signals behind 明确具体可衡量 / 精简实用 / 全面反映."""
    tables = select_tables(package, params.tables)
    evidence: list[Evidence] = []
    live_total = measurable = duplicates = out_of_range = 0
    covered = expected_categories = 0
    parsed: dict[int, list[tuple[IndicatorRow, ParsedValue]]] = {}
    vocab = vocabulary(ctx, params.vocabulary)
    for t, table in enumerate(tables):
        live = [r for r in table.indicators if not is_na_row(r, params.na_markers)]
        rows = [(r, _target(r, vocab)) for r in live]
        parsed[t] = rows
        live_total += len(rows)
        for row, value in rows:
            if value.kind == "quantitative":
                measurable += 1
            else:
                why = value.reason or "未填写"
                evidence.append(
                    Evidence.at(row.target.location, f"{row.target.text or BLANK}（{why}）")
                )
        seen: set[str] = set()
        for row in live:
            name = norm(row.level3)
            if name in seen:
                duplicates += 1
                evidence.append(Evidence.at(row.location, f"三级指标「{row.level3}」重复"))
            seen.add(name)
        if not params.min_indicators <= len(live) <= params.max_indicators:
            out_of_range += 1
            evidence.append(
                Evidence.at(
                    table.location,
                    f"三级指标 {len(live)} 个，不在 {params.min_indicators}–{params.max_indicators} 个之间",
                )
            )
        got, want = _categories(table, rows, params)
        covered += got
        expected_categories += want
    copied = _copied(package, tables, parsed, params, vocab, evidence)
    return [
        Fact(
            key="package",
            subject="三级绩效指标质量",
            fields={
                "measurable_share": ratio(measurable, live_total),
                "unmeasurable_count": Decimal(live_total - measurable),
                "duplicate_count": Decimal(duplicates),
                "count_out_of_range": Decimal(out_of_range),
                "copied_count": Decimal(copied),
                "category_share": ratio(covered, expected_categories),
            },
            evidence=tuple(evidence),
        )
    ]


def _categories(
    table: SelfEvalTable, rows: list[tuple[IndicatorRow, ParsedValue]], params: QualityParams
) -> tuple[int, int]:
    """(categories covered by a measurable row, categories expected) in one table.

    A category the table marks 不适用 as a whole (生态效益 of a science bureau) is not expected.
    """
    got = want = 0
    for category in params.categories:
        key = norm(category)
        all_rows = [r for r in table.indicators if key in norm(r.level2)]
        if all_rows and all(is_na_row(r, params.na_markers) for r in all_rows):
            continue
        want += 1
        if any(key in norm(r.level2) and v.kind == "quantitative" for r, v in rows):
            got += 1
    return got, want


def _copied(
    package: Package,
    tables: list[SelfEvalTable],
    parsed: dict[int, list[tuple[IndicatorRow, ParsedValue]]],
    params: QualityParams,
    vocab: QuantityVocabulary,
    evidence: list[Evidence],
) -> int:
    """Indicators of small projects that repeat a department indicator (same name and target)."""
    department = package.department_table
    if department is None:
        return 0
    dept_rows = next(
        (parsed[t] for t, table in enumerate(tables) if table is department),
        [
            (r, _target(r, vocab))
            for r in department.indicators
            if not is_na_row(r, params.na_markers)
        ],
    )
    dept_budget = _budget(department, params)
    copied = 0
    for t, table in enumerate(tables):
        if table.kind != "project":
            continue
        budget = _budget(table, params)
        if (
            budget is None
            or dept_budget is None
            or budget >= params.small_project_share * dept_budget
        ):
            continue  # not known to be small: a large project may share the department's outcomes
        for row, value in parsed[t]:
            if params.copy_level1 and not any(same_name(row.level1, k) for k in params.copy_level1):
                continue
            match = next(
                (
                    d
                    for d, dv in dept_rows
                    if norm(d.level3) == norm(row.level3) and _same_target(value, dv)
                ),
                None,
            )
            if match is not None:
                copied += 1
                evidence.append(
                    Evidence.at(
                        row.target.location,
                        f"「{row.level3}：{row.target.text}」与部门整体支出绩效自评表相同"
                        f"（项目全年预算数 {plain(budget)} < {plain(params.small_project_share)} × "
                        f"{plain(dept_budget)}）",
                    )
                )
    return copied


# ---------------------------------------------------------------------------- scoring


class ScoringParams(Params):
    """Expected scores of quantitative indicators and the over-achievement threshold."""

    tables: TableChoice = "all"
    vocabulary: str = DATA_FILE_VOCABULARY
    na_markers: list[str]
    # 偏差原因 cells holding only one of these count as empty.
    empty_markers: list[str]
    over_threshold: Decimal = Field(gt=0)  # actual / target
    # Points taken off the expected score of an exceeded indicator without 偏差原因 (0 = none).
    over_penalty: Decimal = Field(ge=0)
    tolerance: Decimal = Field(ge=0)


def _filled(text: str, markers: Sequence[str]) -> bool:
    return bool(norm(text)) and not is_marker(text, markers)


@measure(
    "indicator_scoring",
    params=ScoringParams,
    fields={
        "measurable": "bool",
        "points": "number",
        "self_score": "number",
        "expected_score": "number",
        "max_ratio": "number",
        "over_score": "bool",
        "exceeded": "bool",
        "deviation_filled": "bool",
        "short_of_points": "bool",
        "score_above_points": "bool",
    },
)
def indicator_scoring(package: Package, params: ScoringParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per indicator row (不适用 rows skipped): self-score against the expected score."""
    vocab = vocabulary(ctx, params.vocabulary)
    facts: list[Fact] = []
    for table in select_tables(package, params.tables):
        label = table_label(table)
        for n, row in enumerate(table.indicators, start=1):
            if is_na_row(row, params.na_markers):
                continue
            target = parse_value(row.target.text, vocab, indicator_name=row.level3)
            actual = parse_value(row.actual.text, vocab, indicator_name=row.level3)
            points = amount(row.points) or ZERO
            score = amount(row.score) or ZERO
            # The 二级 name joins the 三级 name for the lower-is-better test: a plain figure under
            # 成本指标 is a ceiling even when the 三级 name does not say 成本.
            result = expected_score(
                target, actual, points, indicator_name=f"{row.level2} {row.level3}"
            )
            measurable = result.status in ("met", "missed") and result.score is not None
            expected = result.score if measurable and result.score is not None else ZERO
            max_ratio = result.max_ratio if measurable and result.max_ratio is not None else ZERO
            exceeded = measurable and max_ratio >= params.over_threshold
            explained = _filled(row.deviation.text, params.empty_markers)
            expression = result.explanation
            if exceeded:
                expression += (
                    f"；完成率 {plain(max_ratio * 100)}% ≥ {plain(params.over_threshold * 100)}%"
                )
                if params.over_penalty > 0 and not explained:
                    expected = max(ZERO, expected - params.over_penalty)
                    expression += f"，未说明偏差原因，扣 {plain(params.over_penalty)} 分后应得 {plain(expected)}"
            # Evidence and detail are written out only if a rule reads them.
            evidence, detail = explain_later(
                partial(_scoring_shown, label, row, expected, measurable, expression)
            )
            facts.append(
                Fact(
                    key=f"{label}/{n}.{row.level3}",
                    subject=f"{label}「{row.level3}」",
                    fields={
                        "measurable": measurable,
                        "points": points,
                        "self_score": score,
                        "expected_score": expected,
                        "max_ratio": max_ratio,
                        "over_score": measurable and score > expected + params.tolerance,
                        "exceeded": exceeded,
                        "deviation_filled": explained,
                        "short_of_points": score < points,
                        "score_above_points": score > points,
                    },
                    evidence=evidence,
                    detail=detail,
                )
            )
    return facts


def _scoring_shown(
    label: str, row: IndicatorRow, expected: Decimal, measurable: bool, expression: str
) -> Explanation:
    evidence = cell_evidence(row.target, row.actual, row.points, row.score, row.deviation)
    return evidence, {
        "table": label,
        "row": row.level3,
        "column": "得分",
        "expected": plain(expected) if measurable else "（不可计量）",
        "found": shown(row.score),
        "expression": expression,
    }
