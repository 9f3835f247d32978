"""部门整体支出绩效评价基础数据表: header rows open blocks, the rows below are data rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.importers._cells import empty_cell, make_cell, normalize_text, parse_number
from engine.importers._context import Context, strip_colon
from engine.importers._scan import RawRow, RawTable
from engine.model.package import (
    BasicDataTable,
    Cell,
    DataBlock,
    DataRow,
    Location,
    trusted_model,
)

_INDENT_CHARS = " \u3000"


@dataclass
class _Block:
    title: str
    columns: list[str]
    location: Location
    rows: list[DataRow] = field(default_factory=list)
    # indent of the nearest numbered row ("1、…"): a deeper row after a 其中 row continues it
    numbered_indent: int = 0
    previous_qizhong: bool = False

    def freeze(self) -> DataBlock:
        return DataBlock(
            title=self.title, columns=self.columns, rows=self.rows, location=self.location
        )


class _BasicBuilder:
    def __init__(self, table: RawTable, title: str, ctx: Context) -> None:
        layout = ctx.layout.basic_data
        self.table = table
        self.title = title
        self.ctx = ctx
        self.block_titles = [normalize_text(w) for w in layout.block_titles if w]
        self.column_keywords = [normalize_text(w) for w in layout.column_keywords if w]
        self.text_rows = [normalize_text(w) for w in layout.text_rows if w]
        self.text_row_min_length = layout.text_row_min_length
        self.qizhong = normalize_text(layout.qizhong_prefix)
        self.number_re = re.compile(layout.number_pattern)
        self.blocks: list[_Block] = []

    def is_header(self, texts: list[str]) -> bool:
        if len(texts) < 2:
            return False
        if any(word in texts[0] for word in self.block_titles):
            return True
        # Without a known block title: every column cell is a non-numeric column header.
        others = texts[1:]
        return len(others) >= 2 and all(
            text
            and parse_number(text)[0] is None
            and any(word in text for word in self.column_keywords)
            for text in others
        )

    def is_text_row(self, name: str, values: list[str], block: _Block) -> bool:
        if any(word and word in name for word in self.text_rows):
            return True
        return (
            len(block.columns) > 1
            and len(values) == 1
            and parse_number(values[0])[0] is None
            and len(values[0]) >= self.text_row_min_length
        )

    def run(self, notes: list[str]) -> BasicDataTable:
        for row in self.table.rows:
            if row.is_empty:
                continue
            texts = row.texts
            if self.is_header(texts):
                current = self.blocks[-1] if self.blocks else None
                if current is not None and [current.title, *current.columns] == texts:
                    continue  # the block's header repeated (a page break): same block
                self.blocks.append(
                    _Block(
                        title=texts[0],
                        columns=texts[1:],
                        location=self.ctx.loc(table=self.title, row=texts[0], line=row.line),
                    )
                )
            elif not self.blocks:
                self.ctx.warn(
                    "IMPORT_ROW_UNPLACED",
                    "row before the first block header of the basic data table",
                    self.ctx.loc(table=self.title, row=texts[0], line=row.line),
                    " | ".join(texts),
                )
            else:
                self.blocks[-1].rows.append(self.data_row(row, self.blocks[-1]))
        return BasicDataTable(
            title=self.title,
            blocks=[block.freeze() for block in self.blocks],
            notes=notes,
            location=self.ctx.loc(table=self.title, line=self.table.start),
        )

    def data_row(self, row: RawRow, block: _Block) -> DataRow:
        first = row.cells[0]
        raw_label = first.lines[0] if first.lines else ""
        indent = len(raw_label) - len(raw_label.lstrip(_INDENT_CHARS))
        label = first.text
        rest = label
        number: str | None = None
        match = self.number_re.match(rest)
        if match and match.groups():
            number = match.group(1)
            rest = rest[match.end() :]
        qizhong = bool(self.qizhong) and rest.startswith(self.qizhong)
        if qizhong:
            rest = rest[len(self.qizhong) :].lstrip(": ")
        elif number is None and block.previous_qizhong and indent > block.numbered_indent:
            # "             公车运行维护" under "其中：公车购置": same 其中 group, deeper indent
            qizhong = True
        name = strip_colon(rest)
        if number is not None:
            block.numbered_indent = indent
        block.previous_qizhong = qizhong

        row_name = label or block.title
        values = row.cells[1:]
        cells: list[Cell] = []
        if self.is_text_row(name, [cell.text for cell in values], block):
            width = 1
            cells = (
                [
                    make_cell(
                        values[0].raw,
                        self.ctx.loc(table=self.title, row=row_name, line=values[0].line),
                    )
                ]
                if values
                else []
            )
        else:
            width = len(block.columns)
            for index, column in enumerate(block.columns):
                if index < len(values):
                    cell = values[index]
                    location = self.ctx.loc(
                        table=self.title, row=row_name, column=column, line=cell.line
                    )
                    cells.append(make_cell(cell.raw, location))
                else:  # merged or missing trailing cell: keep the column, empty
                    location = self.ctx.loc(
                        table=self.title, row=row_name, column=column, line=row.line
                    )
                    cells.append(empty_cell(location))
        extra = values[width:]
        if extra:
            self.ctx.warn(
                "IMPORT_ROW_EXTRA_CELLS",
                f"row has {len(values)} value cells, the block has {width} column(s)",
                self.ctx.loc(table=self.title, row=row_name, line=extra[0].line),
                " | ".join(cell.text for cell in extra),
            )
        return trusted_model(
            DataRow,
            {
                "label": label,
                "name": name,
                "number": number,
                "qizhong": qizhong,
                "indent": indent,
                "cells": cells,
                "location": self.ctx.loc(table=self.title, row=row_name, line=row.line),
            },
        )


def build_basic_data(table: RawTable, title: str, notes: list[str], ctx: Context) -> BasicDataTable:
    """The basic data table with its notes (the 说明 lines that follow it)."""
    return _BasicBuilder(table, title, ctx).run(notes)
