"""The score sheet as an Excel workbook (openpyxl): values, never formulas; A4 landscape, fit to
the page width, the table's header row repeated on every printed page."""

from __future__ import annotations

import io
from typing import Any

from engine.export._sheet import ScoreSheet, Table

_FONT = "宋体"


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin")
    return {
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "right": Alignment(horizontal="right", vertical="top"),
        "bold": Font(name=_FONT, bold=True, size=10),
        "title": Font(name=_FONT, bold=True, size=14),
        "plain": Font(name=_FONT, size=10),
        "fill": PatternFill("solid", fgColor="E7E6E6"),
    }


def _page_setup(sheet: Any, header_row: int, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width * 1.6


def _table(
    sheet: Any, row: int, table: Table, styles: dict[str, Any], numbers: list[Any] | None = None
) -> int:
    """Write `table` from `row`; returns the row of its header."""
    header_row = row
    for column, name in enumerate(table.columns, start=1):
        cell = sheet.cell(row, column, name)
        cell.font, cell.alignment, cell.border, cell.fill = (
            styles["bold"],
            styles["center"],
            styles["border"],
            styles["fill"],
        )
    body = list(table.rows) + ([table.total] if table.total else [])
    for offset, values in enumerate(body, start=1):
        for column, text in enumerate(values, start=1):
            value: Any = text
            if numbers is not None and offset <= len(numbers) and column - 1 in table.numeric:
                value = numbers[offset - 1][sorted(table.numeric).index(column - 1)]
            cell = sheet.cell(header_row + offset, column, value)
            cell.font = styles["bold"] if table.total and offset == len(body) else styles["plain"]
            cell.border = styles["border"]
            cell.alignment = styles["right"] if column - 1 in table.numeric else styles["wrap"]
            if column - 1 in table.numeric and not isinstance(value, str):
                cell.number_format = "0.00"
    return header_row


def write_xlsx(sheet_data: ScoreSheet) -> bytes:
    """The workbook: 评分表 (header, items, adjustments, signatures), then one sheet per list."""
    import openpyxl

    styles = _styles()
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    main = book.create_sheet("评分表")
    width = len(sheet_data.items.columns)
    main.cell(1, 1, sheet_data.title).font = styles["title"]
    main.cell(1, 1).alignment = styles["center"]
    main.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    main.cell(2, 1, sheet_data.subtitle).alignment = styles["center"]
    main.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    row = 3
    for label, value in sheet_data.header:
        main.cell(row, 1, label).font = styles["bold"]
        main.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        main.cell(row, 3, value).alignment = styles["wrap"]
        main.merge_cells(start_row=row, start_column=3, end_row=row, end_column=width)
        row += 1
    row += 1
    numbers = [*sheet_data.item_numbers, sheet_data.total_numbers]
    header_row = _table(main, row, sheet_data.items, styles, numbers)
    row = header_row + len(sheet_data.items.rows) + 3
    adjustments = sheet_data.extra[0]
    main.cell(row - 1, 1, adjustments.title).font = styles["bold"]
    # The adjustments go on the signed page, under the items, with the items' 7 columns.
    _table(main, row, adjustments, styles)
    row += len(adjustments.rows) + 2
    for label in sheet_data.signatures:
        main.cell(row, 1, label).font = styles["bold"]
        main.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        row += 2
    _page_setup(main, header_row, sheet_data.items.widths)
    for table in sheet_data.extra[1:]:
        extra = book.create_sheet(table.title)
        extra.cell(1, 1, table.title).font = styles["title"]
        header = _table(extra, 2, table, styles)
        _page_setup(extra, header, table.widths)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
