"""部门整体支出绩效自评表 / 项目支出绩效自评表: header fields, funding, goals, indicators, total.

Every part is found by the keywords of its header row; columns are located by matching header
cell texts, never by position. The table is read top-down through areas (header -> funding ->
goal -> indicators -> after the total); a row that fits no area is an IMPORT_ROW_UNPLACED
warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from engine.importers._cells import empty_cell, make_cell, normalize_text, parse_number
from engine.importers._context import Context, strip_colon
from engine.importers._scan import RawCell, RawRow, RawTable
from engine.model.package import (
    Cell,
    FundingRow,
    IndicatorRow,
    SelfEvalTable,
    SplitItem,
    trusted_model,
)

Area = Literal["header", "funding", "goal", "goal_done", "indicators", "done"]
Side = Literal["income", "spending"]

_INDICATOR_FIELDS = (
    "level1",
    "level2",
    "level3",
    "target",
    "actual",
    "points",
    "score",
    "deviation",
)


def match_columns(
    texts: Sequence[str],
    keywords: Sequence[str],
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, int]:
    """keyword -> index of the header cell that names it, by the keyword or one of its
    synonyms (exact text first, then contains: "执行率(B/A)", "年初预算数(万元)")."""
    return _Columns(keywords, synonyms).match(texts)


class _Columns:
    """`match_columns` for one keyword list, its word lists built once (it runs for every row
    of every self-evaluation table: about 100 times per package)."""

    def __init__(
        self, keywords: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None
    ) -> None:
        entries: list[tuple[str, tuple[str, ...]]] = []
        for keyword in keywords:
            if not keyword or any(keyword == k for k, _ in entries):
                continue  # an empty keyword is never matched; a repeat is already found
            words = (keyword, *(synonyms or {}).get(keyword, ()))
            entries.append((keyword, tuple(w for w in words if w)))
        self.entries = tuple(entries)
        self.every_word = frozenset(w for _, words in entries for w in words)
        # Any word anywhere in a text: one regex search per cell settles that most cells (the
        # data rows' texts) contain none, instead of a substring test per word per keyword.
        self.any_word = re.compile("|".join(re.escape(w) for w in sorted(self.every_word)))

    def match(self, texts: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        taken: set[int] = set()
        every = self.every_word
        # Exact pass: only texts equal to some word can match; most rows have none.
        if any(text in every for text in texts):
            for keyword, words in self.entries:
                for index, text in enumerate(texts):
                    if index not in taken and text in words:
                        found[keyword] = index
                        taken.add(index)
                        break
        # Contains pass, in keyword order, over the cells not taken yet that contain some word
        # ("" contains no (non-empty) word; a text without any word matches no keyword).
        search = self.any_word.search
        candidates = [
            (index, text)
            for index, text in enumerate(texts)
            if text and index not in taken and search(text) is not None
        ]
        if not candidates:
            return found
        for keyword, words in self.entries:
            if keyword in found:
                continue
            for index, text in candidates:
                if index in taken:
                    continue
                for word in words:
                    if word in text:
                        found[keyword] = index
                        taken.add(index)
                        break
                else:
                    continue
                break
        return found


@dataclass
class _Header:
    """A located header row: field -> header cell index, the header's cell count and texts."""

    index: dict[str, int]
    width: int
    texts: list[str]

    def cell(self, row: RawRow, name: str) -> RawCell | None:
        """The cell of `row` under header field `name`.

        Merged cells at the left of a row show up as missing (or, when the header row lacks
        a leading label column, as extra) cells, so rows are aligned on their right edge.
        """
        if name not in self.index:
            return None
        position = self.index[name] + len(row.cells) - self.width
        return row.cells[position] if 0 <= position < len(row.cells) else None

    def column(self, name: str) -> str:
        return self.texts[self.index[name]] if name in self.index else name


class _SelfEvalBuilder:
    def __init__(
        self,
        table: RawTable,
        kind: Literal["department", "project"],
        title: str,
        ctx: Context,
    ) -> None:
        self.raw = table
        self.kind = kind
        self.title = title
        self.ctx = ctx
        lay = ctx.layout.self_eval
        norm = normalize_text
        self.header_fields = [norm(w) for w in lay.header_fields if w]
        name_fields = (
            lay.department_name_fields if kind == "department" else lay.project_name_fields
        )
        self.name_fields = [norm(w) for w in name_fields if w]
        funding = lay.funding
        self.funding_keywords = [norm(w) for w in funding.columns if w]
        self.funding_synonyms = {
            norm(word): [norm(w) for w in words] for word, words in funding.synonyms
        }
        self.funding_min = funding.header_min_matches
        self.row_labels = [norm(w) for w in funding.row_labels if w]
        self.income_marker = norm(funding.income_marker)
        self.spending_marker = norm(funding.spending_marker)
        self.split_qizhong = norm(funding.qizhong_prefix)
        self.split_re = re.compile(funding.split_pattern)
        goal = lay.goal
        self.goal_marker, self.goal_expected, self.goal_actual = (
            norm(goal.marker),
            norm(goal.expected),
            norm(goal.actual),
        )
        ind = lay.indicators
        self.indicator_keywords = {name: norm(getattr(ind, name)) for name in _INDICATOR_FIELDS}
        self.indicator_synonyms = {
            self.indicator_keywords[name]: [norm(w) for w in words]
            for name, words in ind.synonyms
            if name in self.indicator_keywords
        }
        self.indicator_min = ind.header_min_matches
        self.points_re = re.compile(ind.level1_points_pattern)
        self.total_marker = norm(ind.total_marker)
        self.funding_match = _Columns(self.funding_keywords, self.funding_synonyms)
        self.goal_match = _Columns([self.goal_marker, self.goal_expected, self.goal_actual], None)
        self.indicator_match = _Columns(
            list(self.indicator_keywords.values()), self.indicator_synonyms
        )
        # Location.table: project tables are told apart by their name.
        self.name = self.find_name()
        if kind == "project" and self.name:
            self.where = f"{ctx.title_keyword('project')}[{self.name}]"
        else:
            self.where = title
        # state
        self.area: Area = "header"
        self.header: dict[str, Cell] = {}
        self.funding_header: _Header | None = None
        self.funding: list[FundingRow] = []
        self.split_sides: dict[int, tuple[Side, str]] = {}
        self.splits: list[SplitItem] = []
        self.goal_header: _Header | None = None
        self.goal_expected_cell: Cell | None = None
        self.goal_actual_cell: Cell | None = None
        self.indicator_header: _Header | None = None
        self.indicators: list[IndicatorRow] = []
        self.level1: tuple[str, Decimal | None] = ("", None)
        self.level2 = ""
        self.total_points: Cell | None = None
        self.total_score: Cell | None = None

    # --- helpers -------------------------------------------------------------------------

    def find_name(self) -> str:
        for row in self.raw.rows:
            texts = [strip_colon(text) for text in row.texts]
            for index, text in enumerate(texts):
                if text in self.name_fields and index + 1 < len(texts):
                    return texts[index + 1]
        return ""

    def cell(self, raw: RawCell | None, row: RawRow, label: str, column: str) -> Cell:
        if raw is None:
            return empty_cell(
                self.ctx.loc(table=self.where, row=label, column=column, line=row.line)
            )
        location = self.ctx.loc(table=self.where, row=label, column=column, line=raw.line)
        return make_cell(raw.raw, location)

    def unplaced(self, row: RawRow, why: str) -> None:
        texts = row.texts
        first = next((text for text in texts if text), "")
        self.ctx.warn(
            "IMPORT_ROW_UNPLACED",
            f"row fits nowhere in the {self.kind} table ({why})",
            self.ctx.loc(table=self.where, row=first, line=row.line),
            " | ".join(texts),
        )

    def unplaced_headers(self, row: RawRow, placed: Iterable[int]) -> None:
        """A header cell right of the first placed column that names no column: its column
        is not read, so say which (the cells left of it are the row's labels)."""
        placed = set(placed)
        first = min(placed, default=len(row.cells))
        for index, cell in enumerate(row.cells):
            if index > first and index not in placed and cell.text:
                self.ctx.warn(
                    "IMPORT_HEADER_UNPLACED",
                    "header cell matches no column keyword or synonym of the layout: "
                    "its column is not read",
                    self.ctx.loc(table=self.where, row=cell.text, line=cell.line),
                    cell.text,
                )

    # --- the walk ------------------------------------------------------------------------

    def run(self) -> SelfEvalTable:
        for row in self.raw.rows:
            if not row.is_empty:
                self.place(row)
        return SelfEvalTable(
            kind=self.kind,
            title=self.title,
            name=self.name,
            header=self.header,
            funding_columns=self.funding_columns(),
            funding=self.funding,
            splits=self.splits,
            goal_expected=self.goal_expected_cell,
            goal_actual=self.goal_actual_cell,
            indicators=self.indicators,
            total_points=self.total_points,
            total_score=self.total_score,
            location=self.ctx.loc(table=self.where, line=self.raw.start),
        )

    def funding_columns(self) -> list[str]:
        if self.funding_header is None:
            return []
        index = self.funding_header.index
        return sorted(index, key=index.__getitem__)

    def place(self, row: RawRow) -> None:
        texts = row.texts
        if self.area != "done" and self.is_total(texts):
            self.read_total(row)
            return
        if all(not text or text in self.ctx.section_labels for text in texts):
            return  # a merged label cell such as 绩效指标 on a row of its own
        if self.area in ("header", "funding") and self.read_header_fields(row):
            return
        # Each header is looked for only in the areas where it can start (or repeat): the
        # matching is most of the table's cost, and its result is unused elsewhere.
        if self.area in ("header", "funding"):
            found = self.funding_match.match(texts)
            if len(found) >= self.funding_min:
                self.funding_header = _Header(found, len(texts), texts)
                self.area = "funding"
                self.unplaced_headers(row, found.values())
                return
            goal = self.goal_match.match(texts)
            if {self.goal_expected, self.goal_actual} <= set(goal):
                self.goal_header = _Header(goal, len(texts), texts)
                self.area = "goal"
                return
        found = self.indicator_match.match(texts) if self.area != "done" else {}
        if (
            self.area == "indicators"
            and self.indicator_header is not None
            and len(found) >= self.indicator_min
            and [t for t in texts if t] == [t for t in self.indicator_header.texts if t]
        ):
            return  # the header row repeated (a page break in Word or Excel): not an indicator
        if self.area not in ("indicators", "done") and len(found) >= self.indicator_min:
            by_field = {
                name: found[word] for name, word in self.indicator_keywords.items() if word in found
            }
            self.indicator_header = _Header(by_field, len(texts), texts)
            self.area = "indicators"
            self.unplaced_headers(row, found.values())
            return
        if self.area == "funding":
            self.read_funding(row)
        elif self.area == "goal":
            self.read_goal(row)
        elif self.area == "indicators":
            self.read_indicator(row)
        else:
            self.unplaced(row, f"area {self.area}")

    # --- header fields -------------------------------------------------------------------

    def read_header_fields(self, row: RawRow) -> bool:
        texts = [strip_colon(text) for text in row.texts]
        fields = [i for i, text in enumerate(texts) if text in self.header_fields]
        if not fields:
            return False
        used: set[int] = set()
        for index in fields:
            name = texts[index]
            used.add(index)
            value_index = index + 1
            if value_index < len(row.cells) and value_index not in fields:
                used.add(value_index)
                self.header[name] = self.cell(row.cells[value_index], row, name, "")
            else:
                self.header[name] = self.cell(None, row, name, "")
        leftover = [row.texts[i] for i in range(len(texts)) if i not in used and row.texts[i]]
        if leftover:
            self.ctx.warn(
                "IMPORT_ROW_UNPLACED",
                "cells of a header row that follow no header field",
                self.ctx.loc(table=self.where, line=row.line),
                " | ".join(leftover),
            )
        return True

    # --- funding -------------------------------------------------------------------------

    def read_funding(self, row: RawRow) -> None:
        texts = row.texts
        sides: dict[int, tuple[Side, str]] = {}
        for index, text in enumerate(texts):
            if self.income_marker and self.income_marker in text:
                sides[index] = ("income", strip_colon(text))
            elif self.spending_marker and self.spending_marker in text:
                sides[index] = ("spending", strip_colon(text))
        if sides:
            self.split_sides = sides
            return
        splits = self.split_cells(texts)
        if splits is not None:
            self.read_splits(row, splits)
            return
        self.read_funding_row(row)

    def split_cells(self, texts: list[str]) -> dict[int, re.Match[str]] | None:
        """index -> match for every non-empty cell when all of them read "label:amount"."""
        found: dict[int, re.Match[str]] = {}
        for index, text in enumerate(texts):
            if not text:
                continue
            body = text
            if self.split_qizhong and body.startswith(self.split_qizhong):
                body = body[len(self.split_qizhong) :].lstrip(": ")
            match = self.split_re.match(body)
            if match is None or not (match.group("label") or "").strip():
                return None
            found[index] = match
        return found or None

    def read_splits(self, row: RawRow, splits: dict[int, re.Match[str]]) -> None:
        if not self.split_sides:
            self.unplaced(row, "income/spending split without its 按收入/按支出 header")
            return
        for index, match in splits.items():
            at_or_before = [i for i in self.split_sides if i <= index]
            key = max(at_or_before) if at_or_before else min(self.split_sides)
            side, column = self.split_sides[key]
            label = match.group("label").strip()
            amount = match.group("amount") or ""
            number, percent = parse_number(amount)
            raw = row.cells[index]
            self.splits.append(
                SplitItem(
                    side=side,
                    label=label,
                    amount=Cell(
                        text=normalize_text(amount),
                        raw=raw.raw,
                        number=number,
                        percent=percent,
                        location=self.ctx.loc(
                            table=self.where, row=label, column=column, line=raw.line
                        ),
                    ),
                )
            )

    def read_funding_row(self, row: RawRow) -> None:
        header = self.funding_header
        texts = row.texts
        label_index = next(
            (i for i, text in enumerate(texts) if text and parse_number(text)[0] is None), None
        )
        if header is None or label_index is None:
            self.unplaced(row, "funding row without a label")
            return
        label = texts[label_index]
        # Values follow the label: align the row on its label, not on its first cell.
        first = min(header.index.values())
        cells: dict[str, Cell] = {}
        for keyword, header_index in header.index.items():
            position = label_index + 1 + header_index - first
            raw = row.cells[position] if 0 <= position < len(row.cells) else None
            cells[keyword] = self.cell(raw, row, label, header.texts[header_index])
        known = any(word in label for word in self.row_labels)
        if not known and not any(cell.number is not None for cell in cells.values()):
            self.unplaced(row, "not a funding row")
            return
        ordered = dict(sorted(cells.items(), key=lambda item: header.index[item[0]]))
        self.funding.append(
            trusted_model(
                FundingRow,
                {
                    "label": label,
                    "cells": ordered,
                    "location": self.ctx.loc(table=self.where, row=label, line=row.line),
                },
            )
        )

    # --- goals ---------------------------------------------------------------------------

    def read_goal(self, row: RawRow) -> None:
        header = self.goal_header
        if header is None:  # pragma: no cover - the area is set with the header
            self.unplaced(row, "goal row without header")
            return
        self.goal_expected_cell = self.cell(
            header.cell(row, self.goal_expected),
            row,
            self.goal_marker,
            header.column(self.goal_expected),
        )
        self.goal_actual_cell = self.cell(
            header.cell(row, self.goal_actual),
            row,
            self.goal_marker,
            header.column(self.goal_actual),
        )
        self.area = "goal_done"

    # --- indicators ----------------------------------------------------------------------

    def read_indicator(self, row: RawRow) -> None:
        header = self.indicator_header
        if header is None:  # pragma: no cover - the area is set with the header
            self.unplaced(row, "indicator row without header")
            return
        raws = {name: header.cell(row, name) for name in _INDICATOR_FIELDS}
        text = {name: (raw.text if raw is not None else "") for name, raw in raws.items()}
        if text["level1"]:
            self.level1 = self.split_points(text["level1"])
            self.level2 = ""  # a new 一级 starts a new 二级 group
        if text["level2"]:
            self.level2 = text["level2"]
        if not any(text[name] for name in ("level3", "target", "actual", "points", "score")):
            if not (text["level1"] or text["level2"]):
                self.unplaced(row, "no indicator cell under the indicator header")
            return  # only 一级/二级 labels: carried down to the next rows
        self.warn_unmapped(row, raws)
        level1, points = self.level1
        label = text["level3"] or self.level2
        self.indicators.append(
            trusted_model(
                IndicatorRow,
                {
                    "level1": level1,
                    "level1_points": points,
                    "level2": self.level2,
                    "level3": text["level3"],
                    "target": self.cell(raws["target"], row, label, header.column("target")),
                    "actual": self.cell(raws["actual"], row, label, header.column("actual")),
                    "points": self.cell(raws["points"], row, label, header.column("points")),
                    "score": self.cell(raws["score"], row, label, header.column("score")),
                    "deviation": self.cell(
                        raws["deviation"], row, label, header.column("deviation")
                    ),
                    "location": self.ctx.loc(table=self.where, row=label, line=row.line),
                },
            )
        )

    def warn_unmapped(self, row: RawRow, raws: dict[str, RawCell | None]) -> None:
        mapped = {id(raw) for raw in raws.values() if raw is not None}
        extra = [
            cell.text
            for cell in row.cells
            if id(cell) not in mapped and cell.text and cell.text not in self.ctx.section_labels
        ]
        if extra:
            self.ctx.warn(
                "IMPORT_ROW_UNPLACED",
                "indicator row cells under no indicator column",
                self.ctx.loc(table=self.where, line=row.line),
                " | ".join(extra),
            )

    def split_points(self, text: str) -> tuple[str, Decimal | None]:
        """Split the weight off a 一级 cell: "产出指标(50分)" -> ("产出指标", 50)."""
        match = self.points_re.search(text)
        if match is None or not match.groups():
            return text, None
        try:
            points = Decimal(match.group(1))
        except (InvalidOperation, TypeError):
            return text, None
        return (text[: match.start()] + text[match.end() :]).strip(), points

    # --- total ---------------------------------------------------------------------------

    def is_total(self, texts: list[str]) -> bool:
        first = next((text for text in texts if text), "")
        return bool(self.total_marker) and strip_colon(first) == self.total_marker

    def read_total(self, row: RawRow) -> None:
        marker = next(i for i, cell in enumerate(row.cells) if cell.text)
        values = row.cells[marker + 1 :]
        header = self.indicator_header
        points_first = True
        if header is not None and {"points", "score"} <= set(header.index):
            points_first = header.index["points"] < header.index["score"]
        order = ("points", "score") if points_first else ("score", "points")
        found: dict[str, Cell] = {}
        for position, name in enumerate(order):
            raw = values[position] if position < len(values) else None
            column = header.column(name) if header is not None else name
            found[name] = self.cell(raw, row, self.total_marker, column)
        self.total_points, self.total_score = found["points"], found["score"]
        leftover = [cell.text for cell in values[2:] if cell.text]
        if leftover:
            self.ctx.warn(
                "IMPORT_ROW_UNPLACED",
                "cells of the total row after 分值 and 得分",
                self.ctx.loc(table=self.where, row=self.total_marker, line=row.line),
                " | ".join(leftover),
            )
        self.area = "done"


def build_self_eval(
    table: RawTable, kind: Literal["department", "project"], title: str, ctx: Context
) -> SelfEvalTable:
    """A department or project self-evaluation table."""
    return _SelfEvalBuilder(table, kind, title, ctx).run()
