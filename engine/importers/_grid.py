"""A spreadsheet's cells and merged ranges turned into the items the recognisers read.

A sheet is a rectangular grid; a package form in it is a bordered table with merged cells, and
titles, notes and report paragraphs sit in rows of their own. The reader makes the same rows
of cells as a Word table extracted as text:

- a merged range is one cell in its top row, and one empty cell (a vertical continuation) in
  each row below; the columns it covers to the right add no cell;
- a row with two or more filled cells, or crossed by a vertical merge, is a table row; a row
  with one filled cell is a table row when it is a section label ("绩效指标"), the top of a
  vertical merge, or sits between table rows (and is no title, note or signature); otherwise it
  is a free line (title, note, report paragraph);
- one blank row between table rows stays inside the table (an empty row); otherwise a blank row
  is a blank line. Tables are cut to the columns they use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from engine.importers._cells import normalize_text
from engine.importers._scan import BlankLine, FreeLine, Item, RawCell, RawRow, RawTable

Merge = tuple[int, int, int, int]  # first row, first column, last row, last column (1-based)
Category = Literal["blank", "single", "multi"]


def column_letter(column: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class SheetGrid:
    """One sheet: cell texts by (row, column), merged ranges, and its extent (1-based)."""

    name: str
    values: dict[tuple[int, int], str]
    merges: list[Merge]
    rows: int
    columns: int
    _at: dict[tuple[int, int], Merge] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for merge in self.merges:
            r1, c1, r2, c2 = merge
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    self._at[(r, c)] = merge

    def text(self, row: int, column: int) -> str:
        return self.values.get((row, column), "")

    def collapsed(self, row: int, first: int, last: int) -> list[tuple[int, str]]:
        """(column, text) of the cells of `row` between two columns, merges collapsed."""
        out: list[tuple[int, str]] = []
        for column in range(first, last + 1):
            merge = self._at.get((row, column))
            if merge is None:
                out.append((column, self.text(row, column)))
                continue
            r1, c1, _, _ = merge
            if column != max(c1, first):
                continue  # a column the merged cell spans: no cell of its own
            out.append((column, self.text(r1, c1) if row == r1 else ""))
        return out

    def crossed_by_vertical_merge(self, row: int) -> bool:
        return any(r1 < row <= r2 for r1, _, r2, _ in self.merges)

    def tops_vertical_merge(self, row: int, column: int) -> bool:
        merge = self._at.get((row, column))
        return merge is not None and merge[0] == row and merge[2] > row


@dataclass
class Positions:
    """Hands out positions (opaque line keys) and remembers the anchor of each."""

    anchors: dict[int, str] = field(default_factory=dict)

    def new(self, anchor: str) -> int:
        position = len(self.anchors) + 1
        self.anchors[position] = anchor
        return position


def _quote(name: str) -> str:
    """A sheet name as Excel writes it in a reference."""
    plain = name.replace("_", "").isalnum()
    return name if plain else "'" + name.replace("'", "''") + "'"


def sheet_items(
    grid: SheetGrid,
    positions: Positions,
    stops_table: Callable[[str], bool],
    section_labels: tuple[str, ...],
) -> list[Item]:
    """The sheet's items, in row order."""
    sheet = _quote(grid.name)
    categories: dict[int, Category] = {}
    filled: dict[int, list[tuple[int, str]]] = {}
    for r in range(1, grid.rows + 1):
        cells = [(c, t) for c, t in grid.collapsed(r, 1, grid.columns) if normalize_text(t)]
        filled[r] = cells
        if grid.crossed_by_vertical_merge(r) or len(cells) >= 2:
            categories[r] = "multi"
        elif cells:
            categories[r] = "single"
        else:
            categories[r] = "blank"

    def category(r: int) -> Category:
        return categories.get(r, "blank")

    in_table: dict[int, bool] = {}
    for r in range(1, grid.rows + 1):
        kind = category(r)
        if kind == "multi":
            in_table[r] = True
        elif kind == "single":
            column, text = filled[r][0]
            norm = normalize_text(text)
            in_table[r] = (
                norm in section_labels
                or grid.tops_vertical_merge(r, column)
                or (
                    in_table.get(r - 1, False)
                    and category(r + 1) == "multi"
                    and not stops_table(text)
                )
            )
        else:
            in_table[r] = False
    # One blank row between table rows is an empty row of the table (a text table needs two
    # blank lines to end, too).
    for r in range(1, grid.rows + 1):
        if category(r) == "blank" and in_table.get(r - 1) and in_table.get(r + 1):
            in_table[r] = True

    items: list[Item] = []
    r = 1
    while r <= grid.rows:
        if in_table[r]:
            end = r
            while end + 1 <= grid.rows and in_table[end + 1]:
                end += 1
            items.append(_table(grid, r, end, positions, sheet))
            r = end + 1
            continue
        if category(r) == "blank":
            items.append(BlankLine(positions.new(f"{sheet}!{r}:{r}")))
        else:
            for column, text in filled[r]:
                anchor = f"{sheet}!{column_letter(column)}{r}"
                for line in text.split("\n"):
                    if line.strip(" \t"):
                        items.append(FreeLine(positions.new(anchor), line))
        r += 1
    return items


def _table(grid: SheetGrid, first: int, last: int, positions: Positions, sheet: str) -> RawTable:
    """Rows first..last as a table, cut to the columns its cells and merges use."""
    used = [c for r in range(first, last + 1) for c, t in grid.collapsed(r, 1, grid.columns) if t]
    for r1, c1, r2, c2 in grid.merges:
        if r1 <= last and r2 >= first:
            used += [c1, c2]
    low, high = (min(used), max(used)) if used else (1, 1)
    start = positions.new(f"{sheet}!{column_letter(low)}{first}:{column_letter(high)}{last}")
    rows: list[RawRow] = []
    for r in range(first, last + 1):
        row = RawRow([], positions.new(f"{sheet}!{r}:{r}"))
        for column, text in grid.collapsed(r, low, high):
            anchor = f"{sheet}!{column_letter(column)}{r}"
            row.cells.append(RawCell(text.split("\n"), positions.new(anchor)))
        rows.append(row)
    return RawTable(rows=rows, start=start, end=start)
