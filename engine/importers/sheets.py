"""Importers for Excel packages: .xlsx (openpyxl, merged ranges) and .xls (python-calamine).

Every sheet, in workbook order, becomes rows of cells like a Word table extracted as text
(`_grid`), and the shared recognisers read them. Figures are shown as Excel shows them: a
percentage format gives "96.72%", a fixed-decimal format "2.70", a date "2024年6月28日".
Locations are sheet references: `package.xlsx:自评表!C12`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.importers._container import check_xls, open_zip, refuse
from engine.importers._context import Context
from engine.importers._grid import Merge, Positions, SheetGrid, column_letter, sheet_items
from engine.importers._layout import LimitsLayout, TextLayout
from engine.importers._pipeline import ImportedDocuments, recognise
from engine.importers._scan import BlankLine, Item
from engine.model.package import ImportWarning, Location

_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
_DECIMALS = re.compile(r"0\.(0+)")


def _ref(ref: str) -> tuple[int, int] | None:
    """'C12' -> (12, 3)."""
    found = _REF.match(ref.replace("$", ""))
    if found is None:
        return None
    column = 0
    for letter in found.group(1):
        column = column * 26 + ord(letter) - 64
    return int(found.group(2)), column


def _too_big(name: str, sheet: str, rows: int, columns: int, limits: LimitsLayout) -> Exception:
    return refuse(
        name,
        f"工作表「{sheet}」过大（{rows} 行 × {columns} 列，上限 {limits.max_rows} 行 × "
        f"{limits.max_columns} 列）",
        f"sheet {sheet!r} too large ({rows} rows x {columns} columns, limit "
        f"{limits.max_rows} x {limits.max_columns})",
    )


def _check_sheet_parts(name: str, data: bytes, limits: LimitsLayout) -> bool:
    """Stream every worksheet part and refuse one whose cells or merges reach past the caps,
    before openpyxl builds a cell object for each. Returns whether any formula lacks a cached
    value (the file was written by a program that does not calculate)."""
    from lxml import etree  # type: ignore[import-untyped]

    uncached = False
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [n for n in archive.namelist() if _SHEET_PART.match(n)]
        if len(parts) > limits.max_sheets:
            raise refuse(
                name,
                f"工作表过多（{len(parts)} 个，上限 {limits.max_sheets}）",
                f"too many sheets ({len(parts)}, limit {limits.max_sheets})",
            )
        for part in parts:
            cells = 0
            with archive.open(part) as handle:
                events = etree.iterparse(
                    handle, events=("end",), resolve_entities=False, no_network=True
                )
                for _, elem in events:
                    tag = elem.tag.rpartition("}")[2] if isinstance(elem.tag, str) else ""
                    refs: list[str] = []
                    if tag == "c":
                        cells += 1
                        refs = [elem.get("r") or ""]
                        has_formula = any(
                            isinstance(child.tag, str) and child.tag.endswith("}f")
                            for child in elem
                        )
                        has_value = any(
                            isinstance(child.tag, str) and child.tag.endswith(("}v", "}is"))
                            for child in elem
                        )
                        uncached = uncached or (has_formula and not has_value)
                    elif tag == "mergeCell":
                        refs = (elem.get("ref") or "").split(":")
                    elif tag == "row":
                        row = int(elem.get("r") or "0") if (elem.get("r") or "").isdigit() else 0
                        if row > limits.max_rows:
                            raise _too_big(name, part, row, 0, limits)
                        elem.clear()  # keep memory flat on a long sheet
                    for ref in refs:
                        at = _ref(ref)
                        if at and (at[0] > limits.max_rows or at[1] > limits.max_columns):
                            raise _too_big(name, part, at[0], at[1], limits)
                    if cells > limits.max_cells:
                        raise refuse(
                            name,
                            f"工作表单元格过多（{part}，上限 {limits.max_cells}）",
                            f"too many cells in {part} (limit {limits.max_cells})",
                        )
    return uncached


def _fixed(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def show_value(value: Any, number_format: str = "General") -> str:
    """A cell value as Excel displays it (the subset forms use)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, dt.datetime | dt.time | dt.timedelta):
        return str(value)
    if isinstance(value, int | float):
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            return str(value)
        if not number.is_finite():
            return str(value)
        fmt = number_format or "General"
        decimals = _DECIMALS.search(fmt)
        places = len(decimals.group(1)) if decimals else 0
        if "%" in fmt:
            return _fixed(number * 100, places) + "%"
        if decimals or fmt in ("0", "#,##0"):
            text = _fixed(number, places)
        else:  # General: as few digits as needed, never exponent notation
            text = f"{number.normalize():f}" if number != number.to_integral() else f"{number:.0f}"
        if "," in fmt:
            whole, _, fraction = text.partition(".")
            text = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
        return text
    return str(value)


def _xlsx_grids(data: bytes, name: str, limits: LimitsLayout) -> tuple[list[SheetGrid], bool]:
    import openpyxl

    uncached = _check_sheet_parts(name, data, limits)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise refuse(
            name,
            "Excel 文件无法解析（内容已损坏或不是 Excel 工作簿）",
            f"cannot parse the Excel file: {type(exc).__name__}: {exc}",
        ) from None
    grids: list[SheetGrid] = []
    try:
        for sheet in book.worksheets:
            values: dict[tuple[int, int], str] = {}
            rows = columns = 0
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.value is None or not hasattr(cell, "column"):
                        continue
                    text = show_value(cell.value, cell.number_format)
                    if text:
                        values[(cell.row, cell.column)] = text
                        rows, columns = max(rows, cell.row), max(columns, cell.column)
            merges: list[Merge] = [
                (m.min_row, m.min_col, m.max_row, m.max_col) for m in sheet.merged_cells.ranges
            ]
            for _r1, _c1, r2, c2 in merges:
                rows, columns = max(rows, r2), max(columns, c2)
            grids.append(SheetGrid(sheet.title, values, merges, rows, columns))
    finally:
        book.close()
    return grids, uncached


def _xls_grids(data: bytes, name: str, limits: LimitsLayout) -> list[SheetGrid]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise refuse(
            name,
            "Excel 文件设有密码保护（已加密），请取消密码后重新提交",
            "the Excel file is password-protected (encrypted); remove the password and resubmit",
        ) from None
    except Exception as exc:  # calamine's errors are not one hierarchy
        raise refuse(
            name,
            "Excel 文件无法解析（内容已损坏或不是 Excel 工作簿）",
            f"cannot parse the Excel file: {type(exc).__name__}: {exc}",
        ) from None
    names = book.sheet_names
    if len(names) > limits.max_sheets:
        raise refuse(
            name,
            f"工作表过多（{len(names)} 个，上限 {limits.max_sheets}）",
            f"too many sheets ({len(names)}, limit {limits.max_sheets})",
        )
    grids: list[SheetGrid] = []
    for index, title in enumerate(names):
        try:
            sheet = book.get_sheet_by_index(index)
        except Exception as exc:  # a sheet calamine cannot read (chart sheet, corrupt)
            raise refuse(
                name,
                f"无法读取工作表「{title}」",
                f"cannot read sheet {title!r}: {type(exc).__name__}: {exc}",
            ) from None
        height, width = sheet.total_height, sheet.total_width
        if height > limits.max_rows or width > limits.max_columns:
            raise _too_big(name, title, height, width, limits)
        if height * width > limits.max_cells:
            raise refuse(
                name,
                f"工作表「{title}」单元格过多（上限 {limits.max_cells}）",
                f"too many cells in sheet {title!r} (limit {limits.max_cells})",
            )
        values: dict[tuple[int, int], str] = {}
        rows = columns = 0
        for r, row in enumerate(sheet.to_python(skip_empty_area=False), start=1):
            for c, value in enumerate(row, start=1):
                text = show_value(value)
                if text:
                    values[(r, c)] = text
                    rows, columns = max(rows, r), max(columns, c)
        merges: list[Merge] = []
        for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or []:
            merges.append((r1 + 1, c1 + 1, r2 + 1, c2 + 1))
            rows, columns = max(rows, r2 + 1), max(columns, c2 + 1)
        if rows > limits.max_rows or columns > limits.max_columns:
            raise _too_big(name, title, rows, columns, limits)
        grids.append(SheetGrid(title, values, merges, rows, columns))
    return grids


def _recognise(
    grids: list[SheetGrid], document: str, layout: TextLayout, extra: list[ImportWarning]
) -> ImportedDocuments:
    positions = Positions()
    ctx = Context.build(layout, document, positions.anchors)
    items: list[Item] = []
    for grid in grids:
        if items:  # sheets never run into each other: a blank line like a page break
            items.append(BlankLine(positions.new(f"{grid.name}")))
        items.extend(sheet_items(grid, positions, ctx.stops_table, ctx.section_labels))
    imported = recognise(items, ctx)
    if not extra:
        return imported
    return ImportedDocuments(
        basic_data=imported.basic_data,
        department_table=imported.department_table,
        project_tables=imported.project_tables,
        report=imported.report,
        warnings=extra + imported.warnings,
        rows_read=imported.rows_read,
    )


def import_xlsx(data: bytes, *, document: str, layout: TextLayout) -> ImportedDocuments:
    """Parse an Excel (.xlsx) package. Raises PackageError for a hostile or unreadable file."""
    open_zip(document, data, "xlsx", layout.limits)
    grids, uncached = _xlsx_grids(data, document, layout.limits)
    extra: list[ImportWarning] = []
    if uncached:
        extra.append(
            ImportWarning(
                code="IMPORT_FORMULA_NOT_CALCULATED",
                message="formulas without a calculated value read as empty: open and save the "
                "file in Excel or WPS first",
                location=Location(document=document),
            )
        )
    return _recognise(grids, document, layout, extra)


def import_xls(data: bytes, *, document: str, layout: TextLayout) -> ImportedDocuments:
    """Parse an Excel 97-2003 (.xls) package. Raises PackageError for a hostile or unreadable file."""
    check_xls(document, data, layout.limits)
    return _recognise(_xls_grids(data, document, layout.limits), document, layout, [])


__all__ = ["column_letter", "import_xls", "import_xlsx", "show_value"]
