"""Importer for PDF packages: pages with a text layer, and scanned pages (OCR).

pdfplumber (on pdfminer.six, pure Python) reads a page's characters with their positions and
finds ruled tables from the page's lines and rectangles; each table cell keeps its grid column,
and a cell merged from the row above shows as an empty continuation cell, as in Word. A page
without a text layer (a scan) is rendered and read by OCR (`_ocr`). `_pdfpage` then turns the
pages into the items the shared recognisers read: running headers and page numbers dropped,
tables continued across pages joined, wrapped paragraphs joined.

Locations name the page, table, row and grid column (`package.pdf:第3页 表2行4列3`) or the
page and line (`package.pdf:第5页 行12`), counted from 1; a table keeps its number across the
pages it continues on.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from engine.importers._container import refuse
from engine.importers._context import Context
from engine.importers._grid import Positions
from engine.importers._layout import LimitsLayout, TextLayout
from engine.importers._pdfcheck import check_pdf
from engine.importers._pdfpage import Page, PageCell, PageLine, PageTable, page_items
from engine.importers._pipeline import ImportedDocuments, recognise
from engine.importers._scan import Item

_EPS = 1.0  # points: cell edges of one ruled table agree to well within this


CellText = Callable[[tuple[float, float, float, float]], tuple[str, float | None]]


def page_table(table: Any, cell_text: CellText | None = None) -> PageTable:
    """A pdfplumber table as a PageTable: one cell per drawn cell, an empty continuation cell
    where a cell merged from the row above covers a row, nothing where one merged from the
    left covers a column. Cell texts come from the text layer, or from `cell_text(box)` (text
    and confidence: OCR)."""
    columns = [column.bbox[0] for column in table.columns]
    # keep_blank_chars: leading spaces indent a label (其中 rows)
    texts = table.extract(keep_blank_chars=True) if cell_text is None else None
    boxes = table.cells
    tops = [row.bbox[1] for row in table.rows]
    bottom_edge = table.bbox[3]
    rows: list[list[PageCell]] = []
    for i, row in enumerate(table.rows):
        top = row.bbox[1]
        cells: list[PageCell] = []
        for j, box in enumerate(row.cells):
            if box is not None:
                confidence: float | None = None
                if texts is not None:
                    text = texts[i][j] or ""
                else:
                    assert cell_text is not None
                    text, confidence = cell_text(box)
                cells.append(
                    PageCell(
                        text.split("\n"),
                        j,
                        confidence=confidence,
                        x0=box[0],
                        x1=box[2],
                        rows=sum(1 for t in tops if box[1] - _EPS <= t < box[3] - _EPS),
                        reaches_bottom=box[3] >= bottom_edge - _EPS,
                    )
                )
                continue
            x = columns[j] if j < len(columns) else box
            cover = next(
                (
                    b
                    for b in boxes
                    if b[0] - _EPS <= x < b[2] - _EPS and b[1] - _EPS <= top < b[3] - _EPS
                ),
                None,
            )
            if cover is not None and cover[1] < top - _EPS and abs(cover[0] - x) <= _EPS:
                cells.append(PageCell([], j, x0=cover[0], x1=cover[2], continued=True))
        rows.append(cells)
    x0, top, x1, bottom = table.bbox
    return PageTable(x0, top, x1, bottom, [*columns, x1], rows)


def closing_lines(rulings: list[dict[str, Any]], tables: list[Any]) -> list[dict[str, Any]]:
    """Horizontal lines across each table at the top and bottom ends of its vertical rulings
    (pdfplumber edges or line objects)."""
    lines: list[dict[str, Any]] = []
    for table in tables:
        x0, top, x1, bottom = table.bbox
        own = [
            e
            for e in rulings
            if x0 - _EPS <= e["x0"] <= x1 + _EPS
            and e["bottom"] >= top - _EPS
            and e["top"] <= bottom + _EPS
        ]
        ends = (
            min((e["top"] for e in own), default=top),
            max((e["bottom"] for e in own), default=bottom),
        )
        for y in ends:
            lines.append(
                {
                    "object_type": "line",
                    "x0": x0,
                    "x1": x1,
                    "top": y,
                    "bottom": y,
                    "width": x1 - x0,
                    "height": 0,
                }
            )
    return lines


def _inside(obj: dict[str, Any], boxes: list[tuple[float, float, float, float]]) -> bool:
    x = (obj["x0"] + obj["x1"]) / 2
    y = (obj["top"] + obj["bottom"]) / 2
    return any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)


def _text_page(number: int, page: Any) -> Page:
    """A page read from its text layer."""
    out = Page(number, float(page.width), float(page.height))
    found = page.find_tables()
    if found:
        # A merged cell cut by the page break has no bottom (or top) border on some printers:
        # a line across the table where its vertical rulings end closes it, so the cell is
        # found all the same.
        rulings = [e for e in page.edges if e["orientation"] == "v"]
        found = page.find_tables({"explicit_horizontal_lines": closing_lines(rulings, found)})
    out.tables = [page_table(table) for table in found]
    boxes = [table.bbox for table in found]
    outside = page.filter(lambda obj: obj.get("object_type") != "char" or not _inside(obj, boxes))
    for line in outside.extract_text_lines(strip=False, return_chars=False, keep_blank_chars=True):
        text = line["text"]
        if text.strip():
            out.lines.append(PageLine(text, line["x0"], line["top"], line["x1"], line["bottom"]))
    return out


def _is_scan(page: Any, layout: TextLayout) -> bool:
    """A page with (almost) no text layer but an image: read by OCR."""
    return len(page.chars) < layout.pdf.min_text_chars and bool(page.images)


def _open(data: bytes, document: str) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many kinds on a malformed file
        # pdfplumber wraps pdfminer's exceptions in a PdfminerException
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise refuse(
                document,
                "PDF 文件设有密码保护（已加密），请取消密码后重新提交",
                "the PDF file is password-protected (encrypted); remove the password and resubmit",
            ) from None
        raise refuse(
            document,
            "PDF 文件已损坏，无法读取",
            f"cannot parse the PDF file: {type(cause).__name__}: {cause}"[:300],
        ) from None


def _check_time(document: str, number: int, started: float, limits: LimitsLayout) -> None:
    elapsed = time.monotonic() - started
    if elapsed > limits.max_seconds_per_page:
        raise refuse(
            document,
            f"第{number}页读取超时（{elapsed:.1f} 秒，上限 {limits.max_seconds_per_page} 秒）",
            f"page {number} took too long ({elapsed:.1f} s, limit {limits.max_seconds_per_page} s)",
        )


def read_pages(data: bytes, *, document: str, layout: TextLayout) -> list[Page]:
    """Every page of the PDF, from its text layer or by OCR, within the layout's limits."""
    limits = layout.limits
    check_pdf(document, data, limits)
    pdf = _open(data, document)
    try:
        pages = pdf.pages
        if len(pages) > limits.max_pdf_pages:
            raise refuse(
                document,
                f"PDF 页数过多（{len(pages)} 页，上限 {limits.max_pdf_pages} 页）",
                f"too many pages ({len(pages)}, limit {limits.max_pdf_pages})",
            )
        out: list[Page] = []
        for number, page in enumerate(pages, start=1):
            started = time.monotonic()
            if _is_scan(page, layout):
                from engine.importers._ocr import ocr_page

                out.append(ocr_page(number, page, document=document, layout=layout))
            else:
                out.append(_text_page(number, page))
            page.close()  # drop the page's parsed objects: memory stays flat
            _check_time(document, number, started, limits)
        return out
    finally:
        pdf.close()


def pdf_items(
    data: bytes, *, document: str, layout: TextLayout
) -> tuple[list[Item], dict[int, str], list[tuple[str, str, float]]]:
    """The document's items, their anchors, and the OCR figures read with low confidence
    (anchor, text, confidence)."""
    pages = read_pages(data, document=document, layout=layout)
    positions = Positions()
    items, low = page_items(pages, layout.pdf, positions)
    return items, positions.anchors, [(x.anchor, x.text, x.confidence) for x in low]


def import_pdf(data: bytes, *, document: str, layout: TextLayout) -> ImportedDocuments:
    """Parse a PDF package: the same model and warnings as `import_text`, with PDF locations;
    an OCR figure read with low confidence is an IMPORT_LOW_CONFIDENCE warning.

    Raises PackageError for a file that is not a PDF, is encrypted, broken, or exceeds the
    layout's [limits].
    """
    items, anchors, low = pdf_items(data, document=document, layout=layout)
    ctx = Context.build(layout, document, anchors)
    position = {anchor: key for key, anchor in anchors.items()}
    for anchor, text, confidence in low:
        ctx.warn(
            "IMPORT_LOW_CONFIDENCE",
            f"figure read by OCR with confidence {confidence:.2f} "
            f"(below {layout.pdf.min_confidence}): check it against the document",
            ctx.loc(line=position[anchor]),
            text,
        )
    return recognise(items, ctx)
