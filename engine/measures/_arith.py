"""Helpers shared by the table measures: amounts, row lookup, arithmetic written out, evidence.

Nothing here knows a row name, a column name or a threshold: callers pass them from parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from engine.decimals import plain, q2
from engine.measures.base import Evidence, MeasureContext, data_file_param
from engine.measures.quantity import QuantityVocabulary
from engine.measures.text import norm
from engine.model import Cell, DataRow, IndicatorRow, Package, SelfEvalTable

ZERO = Decimal(0)
BLANK = "（空）"
SHARE_STEP = Decimal("0.0001")


def amount(cell: Cell | None) -> Decimal | None:
    """The figure a cell states, or None when it is blank or not a plain figure."""
    return None if cell is None else cell.number


def shown(cell: Cell | None) -> str:
    """A term as written in an expression: the figure, （空） for a blank, the text otherwise."""
    if cell is None or not cell.text.strip():
        return BLANK
    if cell.number is not None:
        return plain(cell.number)
    return f"「{cell.text}」"


def show_number(value: Decimal | None) -> str:
    """A computed figure, or （空）."""
    return BLANK if value is None else plain(value)


def total(values: Iterable[Decimal | None]) -> Decimal:
    """Σ with blanks counted as 0."""
    return sum((v for v in values if v is not None), ZERO)


def sum_expression(terms: Sequence[str], result: Decimal, stated: str, holds: bool) -> str:
    """`a + b + c = s ≠ t` (or `= t` when it holds); no terms reads as （无明细）."""
    left = " + ".join(terms) if terms else "（无明细）"
    return f"{left} = {plain(result)} {'=' if holds else '≠'} {stated}"


def close(a: Decimal | None, b: Decimal | None, tolerance: Decimal) -> bool:
    """Both present and within tolerance."""
    return a is not None and b is not None and abs(a - b) <= tolerance


def ratio(part: int, whole: int) -> Decimal:
    """part / whole to 4 places; 0 when there is nothing to count."""
    if whole == 0:
        return ZERO
    return q2(Decimal(part) / Decimal(whole), SHARE_STEP)


def cell_evidence(*cells: Cell | None) -> tuple[Evidence, ...]:
    """Evidence for each cell given (blank cells included: the blank is the evidence)."""
    # A loop, not a generator into tuple(): ≈ 50 calls per evaluation, most with 1–3 cells.
    out = []
    for c in cells:
        if c is not None:
            out.append(Evidence(c.location.rendered, c.text or BLANK))
    return tuple(out)


_MARKER_SETS: dict[int, tuple[Sequence[str], frozenset[str]]] = {}


def _marker_set(markers: Sequence[str]) -> frozenset[str]:
    """The markers normalised, once per markers list (a parameter: the same object every time)."""
    hit = _MARKER_SETS.get(id(markers))
    if hit is not None and hit[0] is markers:
        return hit[1]
    if len(_MARKER_SETS) > 1024:
        _MARKER_SETS.clear()
    normalised = frozenset(norm(m) for m in markers)
    _MARKER_SETS[id(markers)] = (markers, normalised)
    return normalised


def is_marker(text: str, markers: Sequence[str]) -> bool:
    """The text is one of the markers ("不适用", "—" …), after normalising."""
    value = norm(text)
    return bool(value) and value in _marker_set(markers)


def is_na_row(row: IndicatorRow, markers: Sequence[str]) -> bool:
    """An indicator row marked 不适用 / "—": left out of sums, counts and scoring."""
    found = _marker_set(markers)
    # Three cells, unrolled: this runs for every indicator row in five measures.
    value = norm(row.level3)
    if value and value in found:
        return True
    value = norm(row.target.text)
    if value and value in found:
        return True
    value = norm(row.points.text)
    return bool(value) and value in found


def name_matches(name: str, key: str) -> bool:
    """A row name is the template row `key`: equal, or starts with it ("市级专项资金(一个专项一行)")."""
    a, b = norm(name), norm(key)
    return bool(a and b) and (a == b or a.startswith(b))


def find_row(rows: Sequence[DataRow], key: str) -> int | None:
    """Index of the row named `key`: an exact name first, else one that starts with it."""
    exact = [i for i, r in enumerate(rows) if norm(r.name) == norm(key)]
    if exact:
        return exact[0]
    loose = [i for i, r in enumerate(rows) if name_matches(r.name, key)]
    return loose[0] if loose else None


def column_index(columns: Sequence[str], key: str) -> int | None:
    """Index of the first column whose name contains `key`."""
    k = norm(key)
    return next((i for i, c in enumerate(columns) if k and k in norm(c)), None)


def row_cell(row: DataRow, index: int) -> Cell | None:
    """The row's cell in column `index`, if the row has one."""
    return row.cells[index] if index < len(row.cells) else None


def table_label(table: SelfEvalTable) -> str:
    """How a table is named in findings (the importer's table name, with the project's name)."""
    return table.location.table or table.title


def select_tables(package: Package, which: str) -> list[SelfEvalTable]:
    """all | department | projects, in package order."""
    tables: list[SelfEvalTable] = []
    if which in ("all", "department") and package.department_table is not None:
        tables.append(package.department_table)
    if which in ("all", "projects"):
        tables.extend(package.project_tables)
    return tables


def funding_total_row(table: SelfEvalTable, label: str) -> int | None:
    """Index of the funding block's total row (年度资金总额)."""
    return next((i for i, r in enumerate(table.funding) if name_matches(r.label, label)), None)


# The parameter naming the parsing vocabulary (rules/vocabulary/<version>.toml).
DATA_FILE_VOCABULARY: Any = data_file_param("vocabulary")


def vocabulary(ctx: MeasureContext, ref: str) -> QuantityVocabulary:
    """The parsing vocabulary `ref` names, as loaded with the rubric (never read from a path)."""
    found = ctx.data.get(ref)
    if not isinstance(found, QuantityVocabulary):
        raise LookupError(f"vocabulary {ref!r} was not loaded with the rubric")
    return found
