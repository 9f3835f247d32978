"""PDF pages (text layer or OCR) turned into the items the recognisers read.

A reader hands over, per page, its ruled tables (a grid of cells, each with its box) and the
text lines outside them (each with its box). This module, shared by the text and OCR readers:

- drops running headers, footers and page numbers: lines in the top or bottom band of a page
  that match the layout's page-number pattern, or whose wording (digits aside) recurs in the
  same band on another page;
- joins a table that continues on the next page (the same outer edges, nothing between) into
  one table, and reads a header row repeated at the top of each page once;
- joins the wrapped lines of a paragraph (a line that reaches the right edge, followed by one
  that starts at the left edge without the paragraph's first-line indent), across a page break
  too, and turns a vertical gap of more than a line into a blank line;
- names every cell and line by page, table, row and column: `第3页 表2行4列3`, `第5页 行12`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from engine.importers._cells import normalize_text
from engine.importers._grid import Positions
from engine.importers._layout import PdfLayout
from engine.importers._scan import BlankLine, FreeLine, Item, RawCell, RawRow, RawTable


@dataclass
class PageLine:
    """A line of text outside every table, with its box (points, top-left origin)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float | None = None  # OCR only: the recogniser's confidence, 0..1


@dataclass
class PageCell:
    """A cell of a ruled table: its text lines, its grid column (0-based), the confidence of an
    OCR reading, and its geometry: left and right edges, the rows it spans on its page, whether
    it reaches the table's bottom edge. `continued` marks the empty cell that stands for a cell
    merged from the row above (as Word's vertical merge does)."""

    lines: list[str]
    column: int
    confidence: float | None = None
    x0: float = 0.0
    x1: float = 0.0
    rows: int = 1
    reaches_bottom: bool = False
    continued: bool = False


@dataclass
class PageTable:
    """A ruled table on one page: its box, its column edges and rows of cells."""

    x0: float
    top: float
    x1: float
    bottom: float
    edges: list[float]  # the x of each grid column's left edge, then the table's right edge
    rows: list[list[PageCell]]


@dataclass
class Page:
    """One page: its size, tables and free lines."""

    number: int  # 1-based
    width: float
    height: float
    tables: list[PageTable] = field(default_factory=list)
    lines: list[PageLine] = field(default_factory=list)


@dataclass
class LowConfidence:
    """An OCR figure read with less confidence than the layout asks for: its anchor and text."""

    anchor: str
    text: str
    confidence: float


_DIGITS = re.compile(r"[0-9]+")


def _shape(text: str) -> str:
    """A running header's wording with its numbers blanked ("第 3 页" ~ "第 4 页")."""
    return _DIGITS.sub("#", unicodedata.normalize("NFKC", text).replace(" ", ""))


def drop_running_lines(pages: list[Page], layout: PdfLayout) -> None:
    """Remove running headers, footers and page numbers from every page, in place."""
    number = re.compile(layout.page_number_pattern)

    def in_band(page: Page, line: PageLine) -> bool:
        band = page.height * layout.running_band
        return line.bottom <= band or line.top >= page.height - band

    seen: dict[str, set[int]] = {}
    for page in pages:
        for line in page.lines:
            if in_band(page, line):
                seen.setdefault(_shape(line.text), set()).add(page.number)
    for page in pages:
        page.lines = [
            line
            for line in page.lines
            if not (
                in_band(page, line)
                and (
                    number.match(normalize_text(line.text)) is not None
                    or len(seen.get(_shape(line.text), ())) >= 2
                )
            )
        ]


def _same_frame(a: PageTable, b: PageTable, tolerance: float) -> bool:
    """The same outer left and right edges (the inner column edges a page shows depend on the
    rows that fall on it)."""
    return abs(a.x0 - b.x0) <= tolerance and abs(a.x1 - b.x1) <= tolerance


def _rebuild_cut_cells(table: _Table, first: list[PageCell], tolerance: float) -> None:
    """A merged cell cut by the page break whose text fell on the next page (vertically
    centred): the text goes back to the cell's top part, and the part on the new page becomes
    an empty continuation, as the cell is one cell in Word."""
    for cell in first:
        if cell.continued or not normalize_text("\n".join(cell.lines)):
            continue
        origin = next(
            (
                above
                for _, row in reversed(table.rows)
                for above in row
                if not above.continued
                and above.reaches_bottom
                and abs(above.x0 - cell.x0) <= tolerance
                and abs(above.x1 - cell.x1) <= tolerance
            ),
            None,
        )
        if (
            origin is not None
            and not normalize_text("\n".join(origin.lines))
            and (origin.rows > 1 or cell.rows > 1)
        ):
            origin.lines, cell.lines, cell.continued = cell.lines, [], True


def _texts(row: list[PageCell]) -> list[str]:
    return [normalize_text("\n".join(cell.lines)) for cell in row]


def _same_rows(a: list[list[PageCell]], b: list[list[PageCell]], similarity: float) -> bool:
    """Whether rows repeat rows: the same cells, with texts at least this similar (an OCR'd
    header repeated on the next page is rarely read letter for letter the same twice)."""
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b, strict=True)):
        return False
    left = "|".join("|".join(_texts(row)) for row in a)
    right = "|".join("|".join(_texts(row)) for row in b)
    return left == right or SequenceMatcher(None, left, right).ratio() >= similarity


@dataclass
class _Table:
    """A table being assembled: its rows with the page each came from."""

    last: PageTable
    rows: list[tuple[int, list[PageCell]]]


@dataclass
class _Gap:
    """A vertical gap of more than a line: a blank line."""

    page: int


@dataclass
class _Line:
    page: int
    index: int  # 1-based line number on its page
    line: PageLine


def _flow(pages: list[Page], layout: PdfLayout) -> list[_Table | _Line | _Gap]:
    """Tables, lines and blank-line gaps in reading order.

    A table that continues at the top of the next page (nothing between, same column edges)
    is one table; its repeated leading rows are dropped.
    """
    out: list[_Table | _Line | _Gap] = []
    for page in pages:
        entries: list[tuple[float, PageTable | PageLine]] = [(t.top, t) for t in page.tables]
        entries += [(line.top, line) for line in page.lines]
        entries.sort(key=lambda entry: entry[0])
        previous_bottom: float | None = None
        line_height = 0.0
        count = 0
        for _, entry in entries:
            if isinstance(entry, PageTable):
                last = out[-1] if out else None
                if (
                    previous_bottom is None
                    and isinstance(last, _Table)
                    and _same_frame(last.last, entry, layout.column_tolerance)
                ):
                    rows = entry.rows
                    head = len(rows)
                    # The header row(s) repeated at the top of the page: read once.
                    while head > 0 and not _same_rows(
                        rows[:head], [r for _, r in last.rows[:head]], layout.repeat_similarity
                    ):
                        head -= 1
                    if head < len(rows):
                        _rebuild_cut_cells(last, rows[head], layout.column_tolerance)
                    last.rows += [(page.number, row) for row in rows[head:]]
                    last.last = entry
                else:
                    out.append(_Table(entry, [(page.number, row) for row in entry.rows]))
                previous_bottom = entry.bottom
                continue
            count += 1
            height = entry.bottom - entry.top
            line_height = height if line_height == 0 else min(line_height, height)
            if (
                previous_bottom is not None
                and entry.top - previous_bottom > layout.blank_line_gap * max(height, 1.0)
            ):
                out.append(_Gap(page.number))
            out.append(_Line(page.number, count, entry))
            previous_bottom = entry.bottom
    return out


def _joins(
    previous: _Line, line: _Line, left: float, right: float, indent: float, reach: float
) -> bool:
    """Whether `line` continues the paragraph of `previous` (a wrapped line)."""
    height = max(previous.line.bottom - previous.line.top, 1.0)
    return previous.line.x1 >= right - reach * height and line.line.x0 <= left + indent * height


def _join(a: str, b: str) -> str:
    """Two wrapped lines of one paragraph: Chinese text wraps anywhere; a line wrapped at a
    space keeps one space (printed, or implied between two Latin words or figures)."""
    spaced = a[-1:].isspace()
    a, b = a.rstrip(), b.lstrip()
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        spaced = True
    return a + " " + b if spaced and a and b else a + b


def page_items(
    pages: list[Page], layout: PdfLayout, positions: Positions
) -> tuple[list[Item], list[LowConfidence]]:
    """The document's items (see the module docstring) and its low-confidence OCR figures."""
    from engine.importers._cells import parse_number

    drop_running_lines(pages, layout)
    flow = _flow(pages, layout)
    lines = [entry for entry in flow if isinstance(entry, _Line)]
    left = min((entry.line.x0 for entry in lines), default=0.0)
    right = max((entry.line.x1 for entry in lines), default=0.0)

    items: list[Item] = []
    low: list[LowConfidence] = []
    tables = 0
    previous: _Line | None = None
    for entry in flow:
        if isinstance(entry, _Gap):
            items.append(BlankLine(positions.new(f"第{entry.page}页")))
            previous = None
            continue
        if isinstance(entry, _Line):
            text = entry.line.text
            if (
                previous is not None
                and isinstance(items[-1], FreeLine)
                and _joins(
                    previous, entry, left, right, layout.indent_chars, layout.wrap_reach_chars
                )
            ):
                joined = items[-1]
                items[-1] = FreeLine(joined.line, _join(joined.text, text))
            else:
                anchor = f"第{entry.page}页 行{entry.index}"
                items.append(FreeLine(positions.new(anchor), text))
            previous = entry
            continue
        previous = None
        tables += 1
        start = positions.new(f"第{entry.rows[0][0] if entry.rows else 0}页 表{tables}")
        rows: list[RawRow] = []
        for r, (page, cells) in enumerate(entry.rows, start=1):
            row = RawRow([], positions.new(f"第{page}页 表{tables}行{r}"))
            for cell in cells:
                anchor = f"第{page}页 表{tables}行{r}列{cell.column + 1}"
                row.cells.append(RawCell(cell.lines or [""], positions.new(anchor)))
                text = "\n".join(cell.lines)
                if (
                    cell.confidence is not None
                    and cell.confidence < layout.min_confidence
                    and parse_number(text)[0] is not None
                ):
                    low.append(LowConfidence(anchor, normalize_text(text), cell.confidence))
            rows.append(row)
        items.append(RawTable(rows=rows, start=start, end=start))
    return items, low
