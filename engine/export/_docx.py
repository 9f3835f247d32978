"""The score sheet as a Word document (python-docx): A4 landscape, the tables' header rows
repeated on every page, and the East-Asian font named explicitly (w:eastAsia), without which
Word falls back to a Latin font's idea of Chinese glyphs."""

from __future__ import annotations

import io
from typing import Any

from engine.export._sheet import ScoreSheet, Table

EAST_ASIAN_FONT = "宋体"  # SimSun: on every Chinese Windows and WPS install
LATIN_FONT = "Times New Roman"


def _set_fonts(style: Any) -> None:
    from docx.oxml.ns import qn

    style.font.name = LATIN_FONT
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)


def _repeat_header(row: Any) -> None:
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    flag = trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
    trpr.append(flag)
    # A header row split across pages would print half a header.
    trpr.append(trpr.makeelement(qn("w:cantSplit"), {qn("w:val"): "true"}))


def _cell_text(cell: Any, text: str, *, bold: bool = False, align: Any = None) -> None:
    from docx.shared import Pt

    lines = text.split("\n")
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        run = paragraph.add_run(line)
        run.bold = bold
        run.font.size = Pt(9)
        if align is not None:
            paragraph.alignment = align


def _table(document: Any, table: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    document.add_heading(table.title, level=2)
    body = list(table.rows) + ([table.total] if table.total else [])
    out = document.add_table(rows=1 + len(body), cols=len(table.columns))
    out.style = document.styles["Table Grid"]
    out.autofit = False
    usable = 25.7  # A4 landscape minus 2 cm margins, in cm
    scale = usable / sum(table.widths)
    for column, width in enumerate(table.widths):
        for cell in out.columns[column].cells:
            cell.width = Cm(width * scale)
    header = out.rows[0]
    _repeat_header(header)
    for column, name in enumerate(table.columns):
        _cell_text(header.cells[column], name, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for r, values in enumerate(body, start=1):
        for column, text in enumerate(values):
            align = WD_ALIGN_PARAGRAPH.RIGHT if column in table.numeric else None
            last = bool(table.total) and r == len(body)
            _cell_text(out.rows[r].cells[column], text, bold=last, align=align)


def write_docx(sheet: ScoreSheet) -> bytes:
    """The Word document: title, header fields, items, adjustments, findings, signatures."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = docx.Document()
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        _set_fonts(document.styles[name])
    document.styles["Normal"].font.size = Pt(10)
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(1.8)
    title = document.add_heading(sheet.title, level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = document.add_paragraph(sheet.subtitle)
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fields = document.add_table(rows=len(sheet.header), cols=2)
    fields.style = document.styles["Table Grid"]
    for row, (label, value) in zip(fields.rows, sheet.header, strict=True):
        _cell_text(row.cells[0], label, bold=True)
        _cell_text(row.cells[1], value)
        row.cells[0].width, row.cells[1].width = Cm(4.5), Cm(21.2)
    _table(document, sheet.items)
    for table in sheet.extra:
        _table(document, table)
    document.add_paragraph()
    for label in sheet.signatures:
        paragraph = document.add_paragraph()
        # A label ending in "：" is followed by the blank to sign on; the date line has its own.
        run = paragraph.add_run(label + ("　" * 12 if label.endswith("：") else ""))
        run.bold = True
        paragraph.paragraph_format.space_after = Pt(14)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
