"""Arithmetic measures: the funding block, the basic data table, figures repeated across documents,
and the execution-rate cap on the total score.

Facts carry `holds` and `check` (exec_rate_cap excepted) and a detail that writes the arithmetic
out, with both places as evidence. Row and column names, tolerances and rounding are parameters
(rules/indicator-tables/<version>.toml, rules/exec-rate-caps/<version>.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache, partial
from typing import Literal

from pydantic import Field

from engine.decimals import plain, q2
from engine.measures._arith import (
    BLANK,
    DATA_FILE_VOCABULARY,
    ZERO,
    amount,
    cell_evidence,
    close,
    column_index,
    find_row,
    funding_total_row,
    is_na_row,
    name_matches,
    row_cell,
    select_tables,
    show_number,
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
    FieldType,
    MeasureContext,
    Params,
    explain_later,
    measure,
)
from engine.measures.quantity import QuantityVocabulary, normalize_text, parse_value
from engine.measures.text import norm, same_name
from engine.model import (
    BasicDataTable,
    Cell,
    DataBlock,
    DataRow,
    Package,
    ReportSection,
    SelfEvalTable,
)

CHECK_FIELDS: dict[str, FieldType] = {"holds": "bool", "check": "string"}


class FundingForm(Params):
    """Names of the funding block of a self-evaluation table (the form's own words)."""

    total_row: str = Field(min_length=1)  # 年度资金总额
    amount_columns: list[str] = Field(min_length=1)  # 年初预算数, 全年预算数, 全年执行数
    budget_column: str = Field(min_length=1)  # 全年预算数 (the adjusted budget)
    spent_column: str = Field(min_length=1)  # 全年执行数
    points_column: str = Field(min_length=1)  # 分值
    rate_column: str = Field(min_length=1)  # 执行率
    score_column: str = Field(min_length=1)  # 得分


def _step(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def _pct(value: Decimal | None) -> str:
    return BLANK if value is None else f"{plain(value)}%"


def _check(
    key: str,
    subject: str,
    check: str,
    holds: bool,
    *,
    table: str,
    row: str,
    column: str,
    expected: str,
    found: str,
    expression: str,
    evidence: tuple[Evidence, ...],
) -> Fact:
    return Fact(
        key=f"{check}:{key}",
        subject=subject,
        fields={"holds": holds, "check": check},
        evidence=evidence,
        detail=_detail(table, row, column, expected, found, expression),
    )


def _detail(
    table: str, row: str, column: str, expected: str, found: str, expression: str
) -> dict[str, str]:
    """A check's detail: where it looked, what it expected and found, and its arithmetic."""
    return {
        "table": table,
        "row": row,
        "column": column,
        "expected": expected,
        "found": found,
        "expression": expression,
    }


# (table, row, column, expected, found, expression, evidence) of a check, as `_check` takes them.
_Shown = tuple[str, str, str, str, str, str, tuple[Evidence, ...]]


def _later_check(
    key: str, subject: str, check: str, holds: bool, show: Callable[[], _Shown]
) -> Fact:
    """`_check` with its detail and evidence written out by `show` only when first read (most
    checks hold and match no rule). `show` is a partial over the values it needs."""
    evidence, detail = explain_later(partial(_shown_check, show))
    return Fact(
        key=f"{check}:{key}",
        subject=subject,
        fields={"holds": holds, "check": check},
        evidence=evidence,
        detail=detail,
    )


def _shown_check(show: Callable[[], _Shown]) -> Explanation:
    table, row, column, expected, found, expression, evidence = show()
    return evidence, _detail(table, row, column, expected, found, expression)


def _total_cell(table: SelfEvalTable, form: FundingForm, column: str) -> Cell | None:
    index = funding_total_row(table, form.total_row)
    return None if index is None else table.funding[index].cells.get(column)


# ---------------------------------------------------------------------------- funds


class FundsParams(Params):
    """The funding block's form, rounding and tolerance, and the header fields a table needs."""

    form: FundingForm
    tables: Literal["all", "department", "projects"] = "all"
    rate_places: int = Field(ge=0, le=6)  # 执行率 in percent, rounded half-up to this many places
    score_places: int = Field(ge=0, le=6)
    tolerance: Decimal = Field(ge=0)  # for 执行率 and 执行率得分
    amount_tolerance: Decimal = Field(ge=0)  # for sums of amounts and totals
    # Columns that only the total row may fill; a 0 elsewhere changes nothing, so it passes.
    total_only_columns: list[str]
    zero_is_blank: bool = True
    required_header: dict[Literal["department", "project"], list[str]]
    na_markers: list[str]


@measure("funds", params=FundsParams, fields=CHECK_FIELDS)
def funds(package: Package, params: FundsParams, ctx: MeasureContext) -> list[Fact]:
    """Per table: 执行率, 执行率得分, sub-rows, where 分值 may appear, the splits, totals, header."""
    facts: list[Fact] = []
    for table in select_tables(package, params.tables):
        facts.extend(_header(table, params))
        index = funding_total_row(table, params.form.total_row)
        if index is not None:
            facts.extend(_rate(table, index, params))
            facts.extend(_subrows(table, index, params))
            facts.extend(_placement(table, index, params))
            facts.extend(_splits(table, index, params))
        facts.extend(_totals(table, index, params))
    return facts


def _rate(table: SelfEvalTable, index: int, params: FundsParams) -> list[Fact]:
    form, label = params.form, table_label(table)
    cells = table.funding[index].cells
    budget_cell, spent_cell = cells.get(form.budget_column), cells.get(form.spent_column)
    rate_cell, points_cell = cells.get(form.rate_column), cells.get(form.points_column)
    score_cell = cells.get(form.score_column)
    budget, spent = amount(budget_cell), amount(spent_cell)
    if budget is None or spent is None or budget == 0:
        return []  # nothing to compute; a missing amount is the subrows/split checks' business
    rate = q2(spent / budget * 100, _step(params.rate_places))
    stated = amount(rate_cell)
    holds = close(stated, rate, params.tolerance)
    facts = [
        _check(
            label,
            f"{label}执行率",
            "rate",
            holds,
            table=label,
            row=form.total_row,
            column=form.rate_column,
            expected=_pct(rate),
            found=_pct(stated),
            expression=(
                f"{form.spent_column} / {form.budget_column} = {plain(spent)} / {plain(budget)}"
                f" = {_pct(rate)} {'=' if holds else '≠'} {_pct(stated)}"
            ),
            evidence=cell_evidence(spent_cell, budget_cell, rate_cell),
        )
    ]
    points = amount(points_cell)
    if points is None:
        return facts
    raw = q2(rate * points / 100, _step(params.score_places))
    expected = min(raw, points)
    score = amount(score_cell)
    holds = close(score, expected, params.tolerance)
    capped = f"，封顶 {plain(points)}" if raw > points else ""
    facts.append(
        _check(
            label,
            f"{label}执行率得分",
            "rate_score",
            holds,
            table=label,
            row=form.total_row,
            column=form.score_column,
            expected=plain(expected),
            found=shown(score_cell),
            expression=(
                f"{_pct(rate)} × {plain(points)} = {plain(raw)}{capped}"
                f" {'=' if holds else '≠'} {shown(score_cell)}"
            ),
            evidence=cell_evidence(rate_cell, points_cell, score_cell),
        )
    )
    return facts


def _subrows(table: SelfEvalTable, index: int, params: FundsParams) -> list[Fact]:
    label = table_label(table)
    head = table.funding[index]
    subs = [r for i, r in enumerate(table.funding) if i != index]
    if not subs:
        return []
    facts = []
    for column in params.form.amount_columns:
        parent = head.cells.get(column)
        parts = [r.cells.get(column) for r in subs]
        found = total(amount(c) for c in parts)
        holds = close(found, amount(parent) or ZERO, params.amount_tolerance)
        facts.append(
            _later_check(
                f"{label}/{column}",
                f"{label}{head.label}「{column}」与其明细行",
                "subrows_sum",
                holds,
                partial(_column_sum_shown, label, head.label, column, parent, parts, found, holds),
            )
        )
    return facts


def _column_sum_shown(
    label: str,
    row: str,
    column: str,
    parent: Cell | None,
    parts: list[Cell | None],
    found: Decimal,
    holds: bool,
) -> _Shown:
    expression = sum_expression([shown(c) for c in parts], found, shown(parent), holds)
    evidence = cell_evidence(parent, *parts)
    return label, row, column, shown(parent), plain(found), expression, evidence


def _total_shown(
    label: str, column: str, stated: Cell, present: list[Cell], found: Decimal, holds: bool
) -> _Shown:
    expression = sum_expression([shown(c) for c in present], found, shown(stated), holds)
    evidence = cell_evidence(stated, *present)
    return label, "总分", column, plain(found), shown(stated), expression, evidence


def _filled(cell: Cell | None, params: FundsParams) -> bool:
    if cell is None or not norm(cell.text):
        return False
    return not (params.zero_is_blank and cell.number == 0)


def _placement(table: SelfEvalTable, index: int, params: FundsParams) -> list[Fact]:
    label = table_label(table)
    facts = []
    for i, row in enumerate(table.funding):
        if i == index:
            continue
        filled = [
            (column, cell)
            for column in params.total_only_columns
            if _filled(cell := row.cells.get(column), params) and cell is not None
        ]
        holds = not filled
        where = "、".join(f"{column} {shown(cell)}" for column, cell in filled)
        facts.append(
            _check(
                f"{label}/{row.label}",
                f"{label}「{row.label}」行",
                "points_only_where_expected",
                holds,
                table=label,
                row=row.label,
                column="、".join(c for c, _ in filled) or "、".join(params.total_only_columns),
                expected=BLANK,
                found=where or BLANK,
                expression=(
                    f"填写了 {where}；{'、'.join(params.total_only_columns)}"
                    f"只应在「{params.form.total_row}」行填写"
                    if filled
                    else f"未填写{'、'.join(params.total_only_columns)}"
                ),
                evidence=cell_evidence(*(c for _, c in filled))
                or (Evidence.at(row.location, row.label),),
            )
        )
    return facts


def _splits(table: SelfEvalTable, index: int, params: FundsParams) -> list[Fact]:
    label = table_label(table)
    cells = table.funding[index].cells
    facts = []
    sides = (
        ("income", params.form.budget_column, "按收入性质分"),
        ("spending", params.form.spent_column, "按支出性质分"),
    )
    for side, column, title in sides:
        items = [s for s in table.splits if s.side == side]
        if not items:
            continue
        parent = cells.get(column)
        found = total(amount(s.amount) for s in items)
        holds = close(found, amount(parent) or ZERO, params.amount_tolerance)
        facts.append(
            _check(
                f"{label}",
                f"{label}{title}合计与{column}",
                f"{side}_split",
                holds,
                table=label,
                row=title,
                column=column,
                expected=shown(parent),
                found=plain(found),
                expression=sum_expression(
                    [f"{s.label} {shown(s.amount)}" for s in items], found, shown(parent), holds
                ),
                evidence=cell_evidence(parent, *(s.amount for s in items)),
            )
        )
    return facts


def _totals(table: SelfEvalTable, index: int | None, params: FundsParams) -> list[Fact]:
    label = table_label(table)
    rows = [r for r in table.indicators if not is_na_row(r, params.na_markers)]
    head = table.funding[index].cells if index is not None else {}
    facts = []
    for column, stated, pick in (
        (params.form.points_column, table.total_points, "points"),
        (params.form.score_column, table.total_score, "score"),
    ):
        if stated is None:
            continue
        cells = [head.get(column)] + [r.points if pick == "points" else r.score for r in rows]
        present = [c for c in cells if c is not None]
        found = total(amount(c) for c in present)
        holds = close(found, amount(stated), params.amount_tolerance)
        facts.append(
            _later_check(
                f"{label}/{column}",
                f"{label}总分「{column}」",
                "total",
                holds,
                partial(_total_shown, label, column, stated, present, found, holds),
            )
        )
    return facts


def _header(table: SelfEvalTable, params: FundsParams) -> list[Fact]:
    label = table_label(table)
    facts = []
    for name in params.required_header.get(table.kind, []):
        cell = next((c for k, c in table.header.items() if norm(k) == norm(name)), None)
        holds = cell is not None and bool(norm(cell.text))
        facts.append(
            _check(
                f"{label}/{name}",
                f"{label}表头「{name}」",
                "header_fields",
                holds,
                table=label,
                row=name,
                column="",
                expected="已填写",
                found=cell.text if cell is not None and holds else BLANK,
                expression=f"「{name}」{'已填写' if holds else '未填写'}",
                evidence=cell_evidence(cell) or (Evidence.at(table.location, f"无「{name}」栏"),),
            )
        )
    return facts


# ---------------------------------------------------------------------------- basic data


class RatioRelation(Params):
    """result = numerator / denominator × scale, within one row of a block (columns by keyword)."""

    block: str = Field(min_length=1)  # keyword of the block title, e.g. 财政供养人员
    result: str = Field(min_length=1)  # column keyword, e.g. 控制率
    numerator: str = Field(min_length=1)
    denominator: str = Field(min_length=1)
    scale: Decimal = Decimal(100)
    places: int = Field(default=2, ge=0, le=6)


class SumRelation(Params):
    """parent = Σ children, in every column of the block that holds the parent row."""

    parent: str = Field(min_length=1)
    children: list[str] = Field(min_length=1)


class BasicDataParams(Params):
    """The basic data table's structure, all in the form's own words."""

    ratios: list[RatioRelation] = Field(default_factory=list)
    sums: list[SumRelation] = Field(default_factory=list)
    numbered_parents: list[str] = Field(default_factory=list)  # rows equal to Σ their numbered rows
    block_keyword: str = Field(min_length=1)  # a row whose name has it heads a listed block (专项)
    top_level_rows: list[str] = Field(min_length=1)  # template rows that end a list
    check_qizhong: bool = True
    tolerance: Decimal = Field(ge=0)
    ratio_tolerance: Decimal = Field(ge=0)


@measure("basic_data_relations", params=BasicDataParams, fields=CHECK_FIELDS)
def basic_data_relations(
    package: Package, params: BasicDataParams, ctx: MeasureContext
) -> list[Fact]:
    """One fact per relation per column: ratios, sums, numbered items, listed blocks, 其中 ≤ parent."""
    table = package.basic_data
    if table is None:
        return []
    facts: list[Fact] = []
    facts.extend(_ratios(table, params))
    for block in table.blocks:
        for relation in params.sums:
            facts.extend(_sum_relation(table, block, relation, params))
        for parent in params.numbered_parents:
            facts.extend(_numbered(table, block, parent, params))
        facts.extend(_listed_blocks(table, block, params))
        if params.check_qizhong:
            facts.extend(_qizhong(table, block, params))
    return facts


def _is_top(row: DataRow, params: BasicDataParams) -> bool:
    return any(name_matches(row.name, t) for t in params.top_level_rows)


def _row_name(row: DataRow, block: DataBlock) -> str:
    return row.label or row.name or block.title


def _sum_facts(
    table: BasicDataTable,
    block: DataBlock,
    check: str,
    parent: DataRow,
    children: Sequence[DataRow | None],
    names: Sequence[str],
    params: BasicDataParams,
) -> Iterator[Fact]:
    """parent = Σ children in each column; a missing child row shows as （缺行）."""
    for j, column in enumerate(block.columns):
        head = row_cell(parent, j)
        parts = [row_cell(c, j) if c is not None else None for c in children]
        found = total(amount(p) for p in parts)
        holds = close(found, amount(head) or ZERO, params.tolerance)
        yield _later_check(
            f"{parent.name}/{column}",
            f"{table.title}「{parent.name}」{column}",
            check,
            holds,
            partial(
                _sum_shown,
                table.title,
                parent.label,
                column,
                head,
                parts,
                children,
                names,
                found,
                holds,
            ),
        )


def _sum_shown(
    title: str,
    label: str,
    column: str,
    head: Cell | None,
    parts: list[Cell | None],
    children: Sequence[DataRow | None],
    names: Sequence[str],
    found: Decimal,
    holds: bool,
) -> _Shown:
    terms = [
        shown(p) if c is not None else f"（缺行：{n}）"
        for p, c, n in zip(parts, children, names, strict=True)
    ]
    expression = sum_expression(terms, found, shown(head), holds)
    evidence = cell_evidence(head, *parts)
    return title, label, column, shown(head), plain(found), expression, evidence


def _sum_relation(
    table: BasicDataTable, block: DataBlock, relation: SumRelation, params: BasicDataParams
) -> Iterator[Fact]:
    p = find_row(block.rows, relation.parent)
    if p is None:
        return
    children = [find_row(block.rows, c) for c in relation.children]
    rows = [block.rows[i] if i is not None else None for i in children]
    yield from _sum_facts(table, block, "sum", block.rows[p], rows, relation.children, params)


def _numbered(
    table: BasicDataTable, block: DataBlock, parent: str, params: BasicDataParams
) -> Iterator[Fact]:
    p = find_row(block.rows, parent)
    if p is None:
        return
    children: list[DataRow] = []
    for row in block.rows[p + 1 :]:
        if _is_top(row, params):
            break
        if row.number is not None and not row.qizhong:
            children.append(row)
    if children:
        names = [c.name for c in children]
        yield from _sum_facts(table, block, "numbered", block.rows[p], children, names, params)


def _listed_blocks(
    table: BasicDataTable, block: DataBlock, params: BasicDataParams
) -> Iterator[Fact]:
    """A row whose name has the keyword heads the unnumbered rows after it, up to a template row."""
    keyword = norm(params.block_keyword)
    i = 0
    while i < len(block.rows):
        head = block.rows[i]
        i += 1
        if keyword not in norm(head.name):
            continue
        members: list[DataRow] = []
        while i < len(block.rows):
            row = block.rows[i]
            if row.number is not None or row.qizhong or _is_top(row, params):
                break
            members.append(row)
            i += 1
        if not members:
            continue  # a numbered item that merely mentions the keyword ("2、专项业务费")
        names = [m.name for m in members]
        yield from _sum_facts(table, block, "block", head, members, names, params)


def _qizhong(table: BasicDataTable, block: DataBlock, params: BasicDataParams) -> Iterator[Fact]:
    """Each 其中 row ≤ the nearest row above it that is not a 其中 row, in every column."""
    parent: DataRow | None = None
    for row in block.rows:
        if not row.qizhong:
            parent = row
            continue
        if parent is None:
            continue
        for j, column in enumerate(block.columns):
            head, part = row_cell(parent, j), row_cell(row, j)
            big, small = amount(head) or ZERO, amount(part) or ZERO
            holds = small <= big + params.tolerance
            yield _later_check(
                f"{parent.name}>{row.name}/{column}",
                f"{table.title}「{row.name}」{column}",
                "qizhong",
                holds,
                partial(
                    _qizhong_shown, table.title, row.label, column, head, part, parent.name, holds
                ),
            )


def _qizhong_shown(
    title: str,
    label: str,
    column: str,
    head: Cell | None,
    part: Cell | None,
    parent: str,
    holds: bool,
) -> _Shown:
    expression = f"{shown(part)} {'≤' if holds else '>'} {shown(head)}（{parent}）"
    evidence = cell_evidence(part, head)
    return title, label, column, f"≤ {shown(head)}", shown(part), expression, evidence


def _ratios(table: BasicDataTable, params: BasicDataParams) -> Iterator[Fact]:
    for relation in params.ratios:
        for block in table.blocks:
            if norm(relation.block) not in norm(block.title):
                continue
            cols = [
                column_index(block.columns, k)
                for k in (relation.result, relation.numerator, relation.denominator)
            ]
            if any(c is None for c in cols):
                continue
            r_col, n_col, d_col = (c for c in cols if c is not None)
            for k, row in enumerate(block.rows, start=1):
                yield from _ratio_row(table, block, row, k, (r_col, n_col, d_col), relation, params)


def _ratio_row(
    table: BasicDataTable,
    block: DataBlock,
    row: DataRow,
    k: int,
    cols: tuple[int, int, int],
    relation: RatioRelation,
    params: BasicDataParams,
) -> Iterator[Fact]:
    r_cell, n_cell, d_cell = (row_cell(row, c) for c in cols)
    stated, num, den = amount(r_cell), amount(n_cell), amount(d_cell)
    if stated is None and num is None and den is None:
        return  # a text row (厉行节约保障措施) or an empty line
    column = block.columns[cols[0]]
    unit = "%" if r_cell is not None and r_cell.percent else ""
    stated_shown = f"{shown(r_cell)}{unit}" if stated is not None else shown(r_cell)
    if den is None or den == 0:
        # No base to divide by: only an empty or zero ratio is consistent.
        holds = stated is None or stated == 0
        expected = "（空）或 0"
        expression = (
            f"{shown(n_cell)} / {shown(d_cell)}：{block.columns[cols[2]]}为 0 或空，"
            f"{column}应为空或 0，填报 {stated_shown}"
        )
    else:
        computed = q2((num or ZERO) / den * relation.scale, _step(relation.places))
        holds = close(stated, computed, params.ratio_tolerance)
        expected = f"{plain(computed)}{unit}"
        scale = f" × {plain(relation.scale)}" if relation.scale != 1 else ""
        expression = (
            f"{shown(n_cell)} / {shown(d_cell)}{scale} = {plain(computed)}{unit}"
            f" {'=' if holds else '≠'} {stated_shown}"
        )
    name = _row_name(row, block)
    yield _check(
        f"{block.title}/{k}/{column}",
        f"{table.title}「{name}」{column}",
        "ratio",
        holds,
        table=table.title,
        row=name,
        column=column,
        expected=expected,
        found=stated_shown,
        expression=expression,
        evidence=cell_evidence(r_cell, n_cell, d_cell),
    )


# ---------------------------------------------------------------------------- across documents


class CrossParams(Params):
    """Which amounts correspond across documents, and how a report figure is found."""

    form: FundingForm
    # project-table column -> basic-data column; "{fy}" is the dossier's fiscal year.
    project_columns: dict[str, str] = Field(min_length=1)
    basic_spending_label: str = Field(min_length=1)  # split line 基本支出
    project_spending_label: str = Field(min_length=1)  # split line 项目支出
    project_row: str = Field(min_length=1)  # basic data row 项目支出
    executed_column: str = Field(
        min_length=1
    )  # basic data column of the year's 决算, "{fy}年决算数"
    min_match_chars: int = Field(ge=1)
    window: int = Field(ge=1)  # characters after the indicator's name searched for its figure
    vocabulary: str = DATA_FILE_VOCABULARY
    na_markers: list[str]
    tolerance: Decimal = Field(ge=0)


def _fy(template: str, package: Package) -> str:
    return template.replace("{fy}", str(package.dossier.fiscal_year))


def _basic_rows(table: BasicDataTable, name: str) -> Iterator[tuple[DataBlock, DataRow]]:
    """Rows named `name`: exact names first, else names containing or contained in it."""
    exact = [(b, r) for b in table.blocks for r in b.rows if norm(r.name) == norm(name)]
    yield from exact or [(b, r) for b in table.blocks for r in b.rows if same_name(r.name, name)]


def _column_cell(block: DataBlock, row: DataRow, column: str) -> Cell | None:
    exact = next((i for i, c in enumerate(block.columns) if norm(c) == norm(column)), None)
    index = exact if exact is not None else column_index(block.columns, column)
    return None if index is None else row_cell(row, index)


@measure("cross_document", params=CrossParams, fields=CHECK_FIELDS)
def cross_document(package: Package, params: CrossParams, ctx: MeasureContext) -> list[Fact]:
    """Project tables vs the basic data table, spending totals, and report figures vs the tables."""
    facts: list[Fact] = []
    if package.basic_data is not None:
        for table in package.project_tables:
            facts.extend(_project_amounts(package, package.basic_data, table, params))
        if package.department_table is not None:
            facts.extend(_spending(package, package.basic_data, package.department_table, params))
    facts.extend(_report_figures(package, params, ctx))
    return facts


def _project_amounts(
    package: Package, basic: BasicDataTable, table: SelfEvalTable, params: CrossParams
) -> list[Fact]:
    label = table_label(table)
    matches = list(_basic_rows(basic, table.name))
    if not matches:
        return [
            _check(
                label,
                f"{label}在{basic.title}中的项目行",
                "project_listed",
                False,
                table=basic.title,
                row=table.name,
                column="",
                expected=f"「{table.name}」一行",
                found="（无此项目）",
                expression=f"{basic.title}中找不到项目「{table.name}」",
                evidence=(Evidence.at(table.location, table.name),),
            )
        ]
    block, row = matches[0]
    facts = []
    for own, other in params.project_columns.items():
        column = _fy(other, package)
        mine, theirs = _total_cell(table, params.form, own), _column_cell(block, row, column)
        if mine is None and theirs is None:
            continue
        a, b = amount(mine), amount(theirs)
        holds = close(a, b, params.tolerance) or (a is None and b is None)
        facts.append(
            _check(
                f"{label}/{own}",
                f"项目「{table.name}」{own}与{basic.title}{column}",
                "project_amounts",
                holds,
                table=label,
                row=table.name,
                column=own,
                expected=f"{shown(theirs)}（{basic.title} / {row.label} / {column}）",
                found=shown(mine),
                expression=(
                    f"{label} {own} {shown(mine)} {'=' if holds else '≠'} "
                    f"{basic.title} {row.label} {column} {shown(theirs)}"
                ),
                evidence=cell_evidence(mine, theirs),
            )
        )
    return facts


def _spending(
    package: Package, basic: BasicDataTable, table: SelfEvalTable, params: CrossParams
) -> list[Fact]:
    label = table_label(table)
    spent_cell = _total_cell(table, params.form, params.form.spent_column)
    split = {norm(s.label): s.amount for s in table.splits if s.side == "spending"}
    own_basic = split.get(norm(params.basic_spending_label))
    own_project = split.get(norm(params.project_spending_label))
    column = _fy(params.executed_column, package)
    rows = list(_basic_rows(basic, params.project_row))
    other_project = _column_cell(rows[0][0], rows[0][1], column) if rows else None
    facts = []
    if own_basic is not None and other_project is not None and spent_cell is not None:
        found = total([amount(own_basic), amount(other_project)])
        holds = close(found, amount(spent_cell), params.tolerance)
        facts.append(
            _check(
                label,
                f"{params.basic_spending_label} + {params.project_spending_label}与{label}{params.form.spent_column}",
                "spending_total",
                holds,
                table=label,
                row=params.form.total_row,
                column=params.form.spent_column,
                expected=shown(spent_cell),
                found=plain(found),
                expression=(
                    f"{params.basic_spending_label} {shown(own_basic)}（{label}）+ "
                    f"{params.project_spending_label} {shown(other_project)}（{basic.title} {column}）"
                    f" = {plain(found)} {'=' if holds else '≠'} {params.form.spent_column} {shown(spent_cell)}"
                ),
                evidence=cell_evidence(own_basic, other_project, spent_cell),
            )
        )
    if own_project is not None and other_project is not None:
        holds = close(amount(own_project), amount(other_project), params.tolerance)
        facts.append(
            _check(
                label,
                f"{label}{params.project_spending_label}与{basic.title}",
                "project_spending",
                holds,
                table=label,
                row=params.project_spending_label,
                column=column,
                expected=shown(other_project),
                found=shown(own_project),
                expression=(
                    f"{label} {params.project_spending_label} {shown(own_project)} "
                    f"{'=' if holds else '≠'} {basic.title} {params.project_row} {column} "
                    f"{shown(other_project)}"
                ),
                evidence=cell_evidence(own_project, other_project),
            )
        )
    return facts


def _longest_suffix(name: str, texts: Sequence[str], min_chars: int) -> str | None:
    """The name, or its longest suffix of at least `min_chars` characters, found in a text."""
    # One search over the texts joined by a character the name lacks finds the same suffixes
    # as a search of each text (a match cannot span the separator).
    joined = "\0".join(texts) if "\0" not in name else None
    for start in range(0, len(name) - min_chars + 1):
        part = name[start:]
        if part in joined if joined is not None else any(part in t for t in texts):
            return part
    return None


# Report sections and indicator names are normalised on every evaluation of a package: the
# same texts each time a package is re-scored (pure, so a bounded cache is safe).
_normalized = lru_cache(maxsize=1024)(normalize_text)


def _in_base(value: Decimal, unit: str, vocab: QuantityVocabulary) -> tuple[str, Decimal]:
    base, factor = vocab.unit_base(unit)
    return base, value * factor


def _report_figures(package: Package, params: CrossParams, ctx: MeasureContext) -> list[Fact]:
    report = package.report
    if report is None:
        return []
    vocab = vocabulary(ctx, params.vocabulary)
    sections = [(s, _normalized(s.text)) for s in report.sections]
    texts = [t for _, t in sections]
    facts: list[Fact] = []
    for table in select_tables(package, "all"):
        label = table_label(table)
        for n, row in enumerate(table.indicators, start=1):
            if is_na_row(row, params.na_markers):
                continue
            actual = parse_value(row.actual.text, vocab, indicator_name=row.level3)
            if actual.kind != "quantitative":
                continue
            name = _normalized(row.level3).replace(" ", "")
            found = _longest_suffix(name, texts, params.min_match_chars)
            if found is None:
                continue
            stated = {_in_base(q.value, q.unit, vocab) for q in actual.parts}
            bases = {b for b, _ in stated}
            for section, text in sections:
                at = text.find(found)
                while at != -1:
                    end = at + len(found)
                    fact = _figure_fact(
                        (label, n, row.level3, row.actual),
                        (section, text, at, end),
                        stated,
                        bases,
                        vocab,
                        params,
                    )
                    if fact is not None:
                        facts.append(fact)
                    at = text.find(found, end)
    return facts


def _figure_fact(
    where: tuple[str, int, str, Cell],
    place: tuple[ReportSection, str, int, int],
    stated: set[tuple[str, Decimal]],
    bases: set[str],
    vocab: QuantityVocabulary,
    params: CrossParams,
) -> Fact | None:
    """The first figure with a unit of the same family in the window after the name, compared."""
    label, n, indicator, cell = where
    section, text, at, end = place
    window = text[end : end + params.window]
    parsed = parse_value(window, vocab)
    figure = next((q for q in parsed.parts if vocab.unit_base(q.unit)[0] in bases), None)
    if figure is None:
        return None
    base, value = _in_base(figure.value, figure.unit, vocab)
    holds = any(b == base and abs(v - value) <= params.tolerance for b, v in stated)
    figure_shown = f"{plain(figure.value)}{figure.unit}"
    # Quote from the name to the figure when the figure is written as shown, else the window.
    number = plain(figure.value)
    pos = window.find(number)
    stop = pos + len(number) if pos != -1 else len(window)
    if pos != -1 and window.startswith(figure.unit, stop):
        stop += len(figure.unit)
    quote = text[at : end + stop]
    return _check(
        f"{label}/{n}.{indicator}@{section.title}:{at}",
        f"「{indicator}」自评报告与{label}",
        "report_figure",
        holds,
        table=label,
        row=indicator,
        column="实际完成值",
        expected=cell.text,
        found=figure_shown,
        expression=(
            f"自评报告「{quote}」{'=' if holds else '≠'} "
            f"{label}「{indicator}」实际完成值「{cell.text}」"
        ),
        evidence=(*cell_evidence(cell), Evidence.at(section.location, quote)),
    )


# ---------------------------------------------------------------------------- rate caps


class RateCapParams(Params):
    """Execution-rate bands capping the department table's total: [low, high, cap], low ≤ rate < high."""

    form: FundingForm
    bands: list[tuple[Decimal, Decimal, Decimal]] = Field(min_length=1)
    uncapped: Decimal = Field(ge=0)  # the cap when no band applies: the table's full total


@measure(
    "exec_rate_cap",
    params=RateCapParams,
    fields={"rate": "number", "cap": "number", "capped": "bool", "total": "number"},
)
def exec_rate_cap(package: Package, params: RateCapParams, ctx: MeasureContext) -> list[Fact]:
    """One fact per package: the department table's 执行率, the cap its band sets, and the total."""
    table = package.department_table
    if table is None:
        return []
    form = params.form
    rate_cell = _total_cell(table, form, form.rate_column)
    rate = amount(rate_cell)
    if rate is None:
        budget = amount(_total_cell(table, form, form.budget_column))
        spent = amount(_total_cell(table, form, form.spent_column))
        if budget is None or spent is None or budget == 0:
            return []
        rate = q2(spent / budget * 100)
    band = next(((lo, hi, cap) for lo, hi, cap in params.bands if lo <= rate < hi), None)
    cap = band[2] if band else params.uncapped
    stated = amount(table.total_score) or ZERO
    capped = stated > cap
    label = table_label(table)
    rule = (
        f"执行率 {plain(rate)}% 在 [{plain(band[0])}%, {plain(band[1])}%) 内，总分上限 {plain(cap)}"
        if band
        else f"执行率 {plain(rate)}% 不在任何限分区间，总分上限 {plain(cap)}"
    )
    return [
        Fact(
            key="package",
            subject=f"{label}总分（执行率限分）",
            fields={"rate": rate, "cap": cap, "capped": capped, "total": stated},
            evidence=cell_evidence(rate_cell, table.total_score),
            detail={
                "table": label,
                "row": "总分",
                "column": form.score_column,
                "expected": f"≤ {plain(cap)}",
                "found": show_number(stated),
                "expression": f"{rule}；总分 {plain(stated)} {'>' if capped else '≤'} {plain(cap)}",
            },
        )
    ]
