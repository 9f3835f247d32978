"""Importer for Word (.docx) packages.

docx2python reads the body in document order, tables included, and sees what python-docx's
`Document.tables` misses: tables inside content controls (w:sdt) and text in tracked insertions
(w:ins; tracked deletions are left out). Its grid is rectangular; each grid cell keeps the
w:p element it came from, so the w:tc behind it (and its gridSpan / vMerge) is read from the
same tree. A table then becomes rows of cells exactly as the text layout has them: one cell
per w:tc (a horizontally merged cell once), a vertically merged continuation as an empty cell.
The shared recognisers (`_pipeline.recognise`) do the rest.

Locations name the table, row and grid column (`package.docx:表2行4列3`) or the body
paragraph (`package.docx:段37`), counted from 1.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from engine.importers._container import open_zip, refuse
from engine.importers._context import Context
from engine.importers._layout import TextLayout
from engine.importers._pipeline import ImportedDocuments, recognise
from engine.importers._scan import BlankLine, FreeLine, Item, RawCell, RawRow, RawTable

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_NAME = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)


class _Positions:
    """Hands out positions (opaque line keys) and remembers the anchor of each."""

    def __init__(self) -> None:
        self.anchors: dict[int, str] = {}

    def new(self, anchor: str) -> int:
        position = len(self.anchors) + 1
        self.anchors[position] = anchor
        return position


def _outline_levels(data: bytes) -> dict[str, int]:
    """styleId -> heading level (1-based) from word/styles.xml: outlineLvl, else 'heading N'."""
    from lxml import etree  # type: ignore[import-untyped]

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "word/styles.xml" not in archive.namelist():
                return {}
            root = etree.fromstring(
                archive.read("word/styles.xml"),
                etree.XMLParser(resolve_entities=False, no_network=True),
            )
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError):
        return {}
    levels: dict[str, int] = {}
    for style in root.iter(f"{_W}style"):
        style_id = style.get(f"{_W}styleId") or ""
        outline = style.find(f"{_W}pPr/{_W}outlineLvl")
        name = style.find(f"{_W}name")
        found = _HEADING_NAME.match(name.get(f"{_W}val", "") if name is not None else "")
        if outline is not None and (outline.get(f"{_W}val") or "").isdigit():
            level = int(outline.get(f"{_W}val") or "0") + 1
            if level <= 9:  # outline level 9 ("body text") is not a heading
                levels[style_id] = level
        elif found:
            levels[style_id] = int(found.group(1))
    return levels


def _paragraph_outline(par: Any, styles: dict[str, int]) -> int | None:
    """A paragraph's heading level: its own w:outlineLvl, else its style's."""
    elem = par.elem
    if elem is None:
        return None
    own = elem.find(f"{_W}pPr/{_W}outlineLvl")
    if own is not None and (own.get(f"{_W}val") or "").isdigit():
        level = int(own.get(f"{_W}val") or "0") + 1
        return level if level <= 9 else None
    return styles.get(par.style or "")


def _par_text(par: Any) -> str:
    return "".join(par.run_strings)


def _is_table(block: Any) -> bool:
    for row in block:
        for cell in row:
            for par in cell:
                return len(par.lineage) > 1 and par.lineage[1] == "tbl"
    return False


def _is_padding(cell: Any) -> bool:
    """A grid cell docx2python adds for a gridSpan: no w:p behind it."""
    return all(par.elem is None for par in cell)


def _too_big(name: str, what_zh: str, what_en: str, count: int, limit: int) -> Exception:
    return refuse(
        name,
        f"{what_zh}过多（{count}，上限 {limit}）",
        f"too many {what_en} ({count}, limit {limit})",
    )


def docx_items(
    data: bytes, *, document: str, layout: TextLayout
) -> tuple[list[Item], dict[int, str]]:
    """The document's items (tables as rows of cells, paragraphs as lines) and their anchors."""
    from docx2python import docx2python

    limits = layout.limits
    open_zip(document, data, "docx", limits)
    styles = _outline_levels(data)
    try:
        with docx2python(io.BytesIO(data), duplicate_merged_cells=False) as content:
            blocks = content.body_pars
    except Exception as exc:  # docx2python raises many kinds on malformed XML
        raise refuse(
            document,
            "Word 文件无法解析（内容已损坏或不是 Word 文档）",
            f"cannot parse the Word file: {type(exc).__name__}: {exc}",
        ) from None

    positions = _Positions()
    items: list[Item] = []
    tables = paragraphs = cells_total = 0
    for block in blocks:
        if _is_table(block):
            tables += 1
            if len(block) > limits.max_rows:
                raise _too_big(
                    document, f"表{tables}行数", "table rows", len(block), limits.max_rows
                )
            start = positions.new(f"表{tables}")
            rows: list[RawRow] = []
            for r, grid_row in enumerate(block, start=1):
                if len(grid_row) > limits.max_columns:
                    raise _too_big(
                        document,
                        f"表{tables}列数",
                        "table columns",
                        len(grid_row),
                        limits.max_columns,
                    )
                row = RawRow([], positions.new(f"表{tables}行{r}"))
                for c, grid_cell in enumerate(grid_row, start=1):
                    if _is_padding(grid_cell):
                        continue
                    lines = [line for par in grid_cell for line in _par_text(par).split("\n")]
                    row.cells.append(RawCell(lines or [""], positions.new(f"表{tables}行{r}列{c}")))
                cells_total += len(row.cells)
                rows.append(row)
            if cells_total > limits.max_cells:
                raise _too_big(document, "表格单元格", "table cells", cells_total, limits.max_cells)
            items.append(RawTable(rows=rows, start=start, end=start))
            continue
        for row_pars in block:
            for cell in row_pars:
                for par in cell:
                    paragraphs += 1
                    if paragraphs > limits.max_paragraphs:
                        raise _too_big(
                            document, "段落", "paragraphs", paragraphs, limits.max_paragraphs
                        )
                    text = _par_text(par)
                    anchor = f"段{paragraphs}"
                    if not text.strip(" \t"):
                        items.append(BlankLine(positions.new(anchor)))
                        continue
                    outline = _paragraph_outline(par, styles)
                    for line in text.split("\n"):
                        if line.strip(" \t"):
                            items.append(FreeLine(positions.new(anchor), line, outline))
    return items, positions.anchors


def import_docx(data: bytes, *, document: str, layout: TextLayout) -> ImportedDocuments:
    """Parse a Word package: the same model and warnings as `import_text`, with Word locations.

    Raises PackageError for a file that is not a Word document, is encrypted, is a zip bomb or
    exceeds the layout's [limits].
    """
    items, anchors = docx_items(data, document=document, layout=layout)
    return recognise(items, Context.build(layout, document, anchors))
