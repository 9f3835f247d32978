"""First pass: split the text into tables (rows of cells), free lines and blank lines.

Layout of a table extracted from Word: one tab-prefixed line per cell, continuation lines of a
cell without a tab, one blank line between rows. Two or more blank lines, or a non-tab line
that cannot continue a cell, end the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.importers._cells import normalize_text


# Slots: a few hundred cells and rows per document, their attributes read in every pass.
@dataclass(slots=True)
class RawCell:
    """A cell as written: its lines (first one without the tab) and the line it starts on."""

    lines: list[str]
    line: int
    # len(lines), raw and text when last computed: the scanner appends continuation lines while
    # reading a table, and every row's texts are read several times afterwards.
    _count: int = field(default=-1, init=False, repr=False, compare=False)
    _raw: str = field(default="", init=False, repr=False, compare=False)
    _text: str = field(default="", init=False, repr=False, compare=False)

    def _compute(self) -> None:
        raw = "\n".join(self.lines)
        self._raw, self._text, self._count = raw, normalize_text(raw), len(self.lines)

    @property
    def raw(self) -> str:
        if self._count != len(self.lines):
            self._compute()
        return self._raw

    @property
    def text(self) -> str:
        if self._count != len(self.lines):  # read for every cell of every row, several times
            self._compute()
        return self._text


@dataclass(slots=True)
class RawRow:
    """The cells between two blank lines."""

    cells: list[RawCell]
    line: int

    @property
    def texts(self) -> list[str]:
        return [cell.text for cell in self.cells]

    @property
    def is_empty(self) -> bool:
        return not any(cell.text for cell in self.cells)


@dataclass
class RawTable:
    """A table: rows, the line range, and the title block assigned later."""

    rows: list[RawRow]
    start: int
    end: int
    title_lines: list[FreeLine] = field(default_factory=list)


@dataclass(frozen=True)
class FreeLine:
    """A non-blank line outside every table, as written.

    `outline` is the heading level a Word paragraph's style gives it (Heading 1 -> 1), so a
    heading without numbering is still a heading; text and Excel lines have none.
    """

    line: int
    text: str
    outline: int | None = None


@dataclass(frozen=True)
class BlankLine:
    """A blank line outside every table (kept: blank lines separate title blocks)."""

    line: int


Item = RawTable | FreeLine | BlankLine


_SPACES = " \r\f\v"


def is_blank(line: str) -> bool:
    """Only ASCII spaces: a U+3000-only line inside a table is a (padding) continuation."""
    # Most lines are text: the first character settles it without stripping the line.
    return not line or (line[0] in _SPACES and not line.strip(_SPACES))


def scan(lines: list[str], stops_table: Callable[[str], bool]) -> list[Item]:
    """Split lines into items; `stops_table(line)` says a non-tab line cannot be cell text."""
    items: list[Item] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("\t"):
            table, i = _read_table(lines, i, stops_table)
            items.append(table)
        elif is_blank(line):
            items.append(BlankLine(i + 1))
            i += 1
        else:
            items.append(FreeLine(i + 1, line))
            i += 1
    return items


def _read_table(
    lines: list[str], start: int, stops_table: Callable[[str], bool]
) -> tuple[RawTable, int]:
    """Read one table from `start` (a tab line); return it and the index after it."""
    rows: list[RawRow] = []
    row: RawRow | None = None
    cell: RawCell | None = None
    i = start
    n = len(lines)
    while i < n:
        line = lines[i]
        if line.startswith("\t"):
            if row is None:
                row = RawRow([], i + 1)
                rows.append(row)
            cell = RawCell([line[1:]], i + 1)
            row.cells.append(cell)
            i += 1
            continue
        # is_blank(line), inlined: this loop sees every line of every table.
        if line and (line[0] not in _SPACES or line.strip(_SPACES)):
            if cell is None or stops_table(line):
                break
            cell.lines.append(line)  # a wrapped cell: no tab on continuation lines
            i += 1
            continue
        j = i
        while j < n and is_blank(lines[j]):
            j += 1
        if j >= n or j - i >= 2:
            break
        if lines[j].startswith("\t"):
            row, cell = None, None  # the single blank line separates two rows
            i = j
            continue
        # One blank line then text lines: when those lines run straight into the next cell of
        # the same row, the blank line was inside the cell ("产出指标\n\n(50分)").
        k = j
        while k < n and not is_blank(lines[k]) and not lines[k].startswith("\t"):
            k += 1
        inside = (
            cell is not None
            and k < n
            and lines[k].startswith("\t")
            and not any(stops_table(lines[m]) for m in range(j, k))
        )
        if not inside or cell is None:
            break
        cell.lines.append("")
        cell.lines.extend(lines[j:k])
        i = k
    return RawTable(rows=rows, start=start + 1, end=i), i
