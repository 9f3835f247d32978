"""Pydantic models of a 绩效自评 package: what the department sent, and where each value came from.

Every value read from a document is a `Cell` that keeps its `Location` (document, table, row,
column, section, line), so a deduction can always point at the evidence.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


_M = TypeVar("_M", bound=_Frozen)


class Location(_Frozen):
    """Where a value came from."""

    document: str
    table: str | None = None
    row: str | None = None
    column: str | None = None
    section: str | None = None
    line: int | None = None

    @cached_property
    def rendered(self) -> str:
        """`render()`, computed once: locations are rendered for every evidence of every fact."""
        return self._render()

    def render(self) -> str:
        """`doc:line 表 / 行 / 列` or `doc:line §节`: stable, human-readable, used as evidence."""
        return self.rendered

    def _render(self) -> str:
        head = self.document if self.line is None else f"{self.document}:{self.line}"
        parts = [p for p in (self.table, self.row, self.column) if p]
        if self.section:
            parts.append(f"§{self.section}")
        return head + (" " + " / ".join(parts) if parts else "")


_new = object.__new__
_set = object.__setattr__


def _trusted(cls: type[Any], values: dict[str, Any], given: set[str]) -> Any:
    """An instance of `cls` from `values` (every field, of the declared types), not validated.

    What `model_construct` does, without its generic per-field loop: for the importers, which
    build a few hundred Locations and Cells per document from values they made themselves.
    """
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", given)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


# Field names per model class. `cls.model_fields` is a pydantic descriptor (a Python call
# each time); the walk below and `trusted_model` read it for every node and row.
_FIELD_NAMES: dict[type[BaseModel], tuple[str, ...]] = {}


def _field_names(cls: type[BaseModel]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(cls.model_fields)
    return names


_LOCATION_FIELDS = frozenset(("document", "table", "row", "column", "section", "line"))


def trusted_location(
    document: str,
    table: str | None,
    row: str | None,
    column: str | None,
    section: str | None,
    line: int | None,
) -> Location:
    """`Location(document=…, table=…, …)` with every field given, for callers whose values are
    already of the declared types (str or None, int or None): no validation."""
    values = {
        "document": document,
        "table": table,
        "row": row,
        "column": column,
        "section": section,
        "line": line,
    }
    result: Location = _trusted(Location, values, set(_LOCATION_FIELDS))
    return result


class Cell(_Frozen):
    """One cell of a table: its normalised text, the figure it states (if a plain figure) and its origin."""

    text: str
    raw: str = ""
    number: Decimal | None = None  # "92.86%" -> 92.86 with percent=True; "1,157.5" -> 1157.5
    percent: bool = False
    location: Location


_CELL_FIELDS = frozenset(("text", "raw", "number", "percent", "location"))


def trusted_cell(
    text: str, raw: str, number: Decimal | None, percent: bool, location: Location
) -> Cell:
    """`Cell(text=…, raw=…, number=…, percent=…, location=…)` for callers whose values are
    already of the declared types: no validation."""
    values = {"text": text, "raw": raw, "number": number, "percent": percent, "location": location}
    result: Cell = _trusted(Cell, values, set(_CELL_FIELDS))
    return result


def trusted_model(cls: type[_M], values: dict[str, Any]) -> _M:
    """`cls(**values)` for the importers' rows and sections, whose values they made themselves
    of the declared types (fresh lists and dicts, typed cells): not validated when `values`
    names every field of `cls` in its order (about a hundred rows per document), validated
    otherwise."""
    if tuple(values) != _field_names(cls):
        return cls(**values)
    result: _M = _trusted(cls, values, set(values))
    return result


# --- manifest (the contract the user writes) -------------------------------------------------


class Notice(_Frozen):
    """自评通知: whether it was issued, which elements it contains, and the evidence files."""

    issued: bool | None = None
    elements: list[str] | None = None
    evidence: list[str] = Field(default_factory=list)


class WorkingGroup(_Frozen):
    """工作小组: whether it was established, and the evidence files."""

    established: bool | None = None
    evidence: list[str] = Field(default_factory=list)


class Unit(_Frozen):
    """A unit that had to self-check (本级, 所属单位, 转移支付项目单位, 县区主管部门)."""

    name: str
    kind: str = Field(min_length=1)  # one of the rubric's unit kinds (本级, 所属单位, …)
    self_checked: bool | None = None
    evidence: list[str] = Field(default_factory=list)


class Dossier(_Frozen):
    """The dossier manifest: facts about the package that are not in its documents.

    A table or key that is absent means "not provided" (None), never "no".
    """

    department: str = Field(min_length=1)
    fiscal_year: int = Field(ge=2000, le=2100)
    received_on: dt.date | None = None
    deadline: dt.date | None = None
    as_of: dt.date | None = None
    documents: list[str] = Field(default_factory=list)
    notice: Notice | None = None
    working_group: WorkingGroup | None = None
    units: list[Unit] | None = None
    attachments: list[str] | None = None  # extra attachments named by the department, if any


# --- parsed documents ------------------------------------------------------------------------


# The warning code of a whole table or the whole report missing from a package: it is scored
# (the rubric deducts what it needs) but says so in `warnings` and, in precheck, `needs_input`.
MISSING_PART = "PACKAGE_PART_MISSING"


class ImportWarning(_Frozen):
    """Something the importer could not place. Nothing is dropped silently."""

    code: str
    message: str
    location: Location
    text: str = ""


class DataRow(_Frozen):
    """A row of the 基础数据表: a label and one cell per year column."""

    label: str  # normalised label as written, e.g. "1、公务用车购置和维护经费"
    name: str  # label without numbering, 其中 prefix and trailing colon, e.g. "公务用车购置和维护经费"
    number: str | None = None  # "1" for "1、…"
    qizhong: bool = False  # the row starts with 其中
    indent: int = 0  # leading spaces before the label (a hint to the hierarchy)
    cells: list[Cell]
    location: Location


class DataBlock(_Frozen):
    """A header row of the 基础数据表 and the rows under it."""

    title: str  # e.g. "经费控制情况（万元）"
    columns: list[str]  # e.g. ["2022年决算数", "2023年预算数", "2023年决算数"]
    rows: list[DataRow]
    location: Location


class BasicDataTable(_Frozen):
    """部门整体支出绩效评价基础数据表."""

    title: str
    blocks: list[DataBlock]
    notes: list[str] = Field(default_factory=list)
    location: Location


class FundingRow(_Frozen):
    """A row of a self-evaluation table's funding block (年度资金总额, 其中：当年财政拨款, …)."""

    label: str
    cells: dict[
        str, Cell
    ]  # column name (年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分) -> cell
    location: Location


class SplitItem(_Frozen):
    """One line of the income or spending split, e.g. "一般公共预算：1152.28"."""

    side: Literal["income", "spending"]
    label: str
    amount: Cell


class IndicatorRow(_Frozen):
    """One indicator row (一级/二级/三级 with target, actual, points, score and deviation analysis).

    Merged cells are carried down: a row whose 一级 cell is empty inherits the row above.
    """

    level1: str
    level1_points: Decimal | None = None  # the weight written in the 一级 cell, e.g. "(50分)"
    level2: str
    level3: str
    target: Cell
    actual: Cell
    points: Cell
    score: Cell
    deviation: Cell
    location: Location


class SelfEvalTable(_Frozen):
    """部门整体支出绩效自评表 or one 项目支出绩效自评表."""

    kind: Literal["department", "project"]
    title: str
    name: str  # 部门名称 or 项目名称
    header: dict[str, Cell]  # header fields: 市级预算部门名称 / 项目支出名称, 主管部门, 实施单位, …
    funding_columns: list[str]
    funding: list[FundingRow]
    splits: list[SplitItem] = Field(default_factory=list)
    goal_expected: Cell | None = None
    goal_actual: Cell | None = None
    indicators: list[IndicatorRow]
    total_points: Cell | None = None
    total_score: Cell | None = None
    location: Location


class ReportSection(_Frozen):
    """A section of the 自评报告: its heading as written and its text."""

    numbering: str  # "一、", "1、", "（一）", "(2)", "" …
    title: str  # heading without numbering
    level: int  # 1 for 一、/1、, 2 for （一）/（1）, 3 for 1.
    text: str
    location: Location


class Report(_Frozen):
    """自评报告."""

    title: str
    sections: list[ReportSection]
    location: Location


_LEAVES = frozenset({type(None), str, bool, int, Decimal, dt.date, Location})


def _cells(node: Any) -> Any:
    """Every Cell inside a model tree."""
    out: list[Cell] = []
    _collect_cells(node, out)
    return out


def _collect_cells(node: Any, out: list[Cell]) -> None:
    # Exact-type tests first: isinstance() on a pydantic model goes through the model
    # metaclass's __instancecheck__, a Python call, and this runs for every node of every
    # Package built (each request, each stored package re-read). Children that are a Cell or
    # a leaf are settled in the parent's loop: most of a tree's nodes are, and a call each
    # would cost more than the test.
    kind = type(node)
    if kind is Cell:
        out.append(node)
        return
    if kind in _LEAVES:
        return  # holds no Cell
    children: Any
    if kind is list or kind is tuple:
        children = node
    elif isinstance(node, Cell):
        out.append(node)
        return
    elif isinstance(node, BaseModel):
        children = [getattr(node, name) for name in _field_names(type(node))]
    elif isinstance(node, list | tuple):
        children = node
    elif isinstance(node, dict):
        children = node.values()
    else:
        return
    for child in children:
        child_kind = type(child)
        if child_kind is Cell:
            out.append(child)
        elif child_kind not in _LEAVES:
            _collect_cells(child, out)


class Package(_Frozen):
    """A whole package: the manifest and every document parsed from it."""

    dossier: Dossier
    basic_data: BasicDataTable | None = None
    department_table: SelfEvalTable | None = None
    project_tables: list[SelfEvalTable] = Field(default_factory=list)
    report: Report | None = None
    warnings: list[ImportWarning] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_negative_amounts(self) -> Package:
        """Amounts, counts, points and rates in these forms are never negative: a minus sign is a
        typing accident, refused rather than scored."""
        tables: list[Any] = [self.basic_data, self.department_table, *self.project_tables]
        for cell in _cells(tables):
            if cell.number is not None and cell.number < 0:
                raise ValueError(f"negative figure {cell.text!r} at {cell.location.render()}")
        return self
