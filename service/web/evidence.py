"""Excerpts of a stored package around an evidence location: the cell's table, the section's text.

Locations are the engine's (docs/report-format.md, docs/documents.md):
`package.txt:63 table / row / column`, `package.txt:597 §section`, `package.docx:表2行3列6`,
`package.docx:段37`, `package.xlsx:Sheet!H4` (or `!5:5`, `!A3:I40`), `dossier.toml <key>`.
The excerpt is read from the package exactly as submitted (the stored submission).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from engine.importers.text import TextLayout
from engine.measures.manifest import MANIFEST
from service.submission import Submission

MAX_CONTEXT = 200


@dataclass
class Cell:
    """A table cell: its text, where it starts, and whether the location points at it."""

    text: str
    where: str
    hit: bool = False


@dataclass
class Line:
    """A line of text: its number (or anchor), text, and whether the location points at it."""

    where: str
    text: str
    hit: bool = False


@dataclass
class Block:
    """A table (rows of cells) or a run of text lines."""

    kind: Literal["table", "text"]
    rows: list[list[Cell]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)


@dataclass
class Excerpt:
    """What the evidence page shows."""

    location: str
    document: str | None
    blocks: list[Block]
    note: str = ""


def describe(location: str) -> list[tuple[str, str]]:
    """A location's parts, labelled: 位置, then 表格 / 行 / 列, or 章节 (or 清单字段)."""
    if location.startswith(MANIFEST):
        return [("清单字段", location[len(MANIFEST) :].strip() or "（整个清单）")]
    place, _, rest = location.partition(" ")
    parts = [("位置", place)]
    rest = rest.strip()
    if rest.startswith("§"):
        parts.append(("章节", rest[1:]))
    elif rest:
        labels = ("表格", "行", "列")
        for i, part in enumerate(rest.split(" / ")):
            parts.append((labels[i] if i < len(labels) else "…", part))
    return parts


def _document_for(location: str, names: list[str]) -> tuple[str, str] | None:
    """(document name, the rest after `name:`), longest name first (names may contain ':')."""
    for name in sorted(names, key=len, reverse=True):
        for shown in (name, PurePosixPath(name).name):
            if location.startswith(shown + ":"):
                return name, location[len(shown) + 1 :]
    return None


def excerpt(
    package_json: str, location: str, context: int = 12, layout: TextLayout | None = None
) -> Excerpt:
    """The excerpt of the stored package that `location` points to, read with `layout` (the
    evaluation's rubric bundle's; else the default)."""
    context = max(2, min(context, MAX_CONTEXT))
    submission = Submission.from_json(package_json)
    if location.startswith(MANIFEST):
        return _manifest(submission, location)
    documents = dict(submission.documents)
    found = _document_for(location, list(documents))
    if found is None:
        return Excerpt(location, None, [], "该位置不指向提交的任何文档。")
    name, rest = found
    content = documents[name]
    suffix = PurePosixPath(name).suffix.lower()
    try:
        if suffix == ".txt":
            text = content if isinstance(content, str) else content.decode("utf-8-sig")
            return _text(name, text, location, rest, context)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        if suffix == ".docx":
            return _docx(name, data, location, rest, context, layout)
        if suffix == ".xlsx":
            return _xlsx(name, data, location, rest, context)
    except Exception as exc:  # a document the engine read but this view cannot: say so
        return Excerpt(location, name, [], f"无法显示该文档的摘录（{type(exc).__name__}）。")
    return Excerpt(location, name, [], "此类文档不提供摘录，请查看原件。")


# -- text layout ----------------------------------------------------------------------------

_LINE = re.compile(r"^(\d+)")


def _text(name: str, text: str, location: str, rest: str, context: int) -> Excerpt:
    match = _LINE.match(rest)
    if not match:
        return Excerpt(location, name, [], "位置中没有行号。")
    target = int(match.group(1))
    lines = text.splitlines()
    if not 1 <= target <= len(lines):
        return Excerpt(location, name, [], f"文档只有 {len(lines)} 行。")
    first, last = max(1, target - context), min(len(lines), target + context)
    # Widen to whole rows: a row of the text layout runs from one blank line to the next.
    while first > 1 and lines[first - 2].strip(" \t\u3000"):
        first -= 1
    while last < len(lines) and lines[last].strip(" \t\u3000"):
        last += 1
    return Excerpt(location, name, _text_blocks(lines, first, last, target))


def _text_blocks(lines: list[str], first: int, last: int, target: int) -> list[Block]:
    """Tab-prefixed lines between blank lines are a row's cells; other lines are text."""
    blocks: list[Block] = []
    row: list[Cell] = []

    def table() -> Block:
        if not blocks or blocks[-1].kind != "table":
            blocks.append(Block("table"))
        return blocks[-1]

    def close_row() -> None:
        if row:
            table().rows.append(list(row))
            row.clear()

    for number in range(first, last + 1):
        raw = lines[number - 1]
        if not raw.strip(" \t\u3000"):
            close_row()
            continue
        if raw.startswith("\t"):
            row.append(Cell(raw.strip("\t").strip(" \u3000"), str(number), number == target))
        elif row:  # a continuation line of the cell above
            cell = row[-1]
            cell.text += "\n" + raw.strip(" \u3000")
            cell.hit = cell.hit or number == target
        else:
            if not blocks or blocks[-1].kind != "text":
                blocks.append(Block("text"))
            blocks[-1].lines.append(Line(str(number), raw.strip(" \u3000"), number == target))
    close_row()
    return blocks


# -- Word -----------------------------------------------------------------------------------

_DOCX = re.compile(r"^(?:表(\d+)(?:行(\d+)(?:列(\d+))?)?|段(\d+))")


def _docx(
    name: str, data: bytes, location: str, rest: str, context: int, layout: TextLayout | None
) -> Excerpt:
    from engine.importers._scan import FreeLine, RawTable
    from engine.importers.docx import docx_items
    from engine.importers.text import default_layout

    match = _DOCX.match(rest)
    if not match:
        return Excerpt(location, name, [], "无法识别该 Word 位置。")
    table_no, row_no, col_no, par_no = match.groups()
    items, anchors = docx_items(data, document=name, layout=layout or default_layout())
    if table_no:
        prefix = f"表{table_no}行"
        for item in items:
            if isinstance(item, RawTable) and anchors.get(item.start) == f"表{table_no}":
                rows = []
                for r in item.rows:
                    cells = []
                    for c in r.cells:
                        anchor = anchors.get(c.line, "")
                        hit = (
                            bool(row_no)
                            and anchor.startswith(f"{prefix}{row_no}列")
                            and (not col_no or anchor == f"{prefix}{row_no}列{col_no}")
                        )
                        cells.append(Cell(c.text, anchor, hit))
                    rows.append(cells)
                return Excerpt(location, name, [Block("table", rows=rows)])
        return Excerpt(location, name, [], f"文档中没有表{table_no}。")
    target = f"段{par_no}"
    lines = [
        (i, item) for i, item in enumerate(items) if isinstance(item, FreeLine)
    ]  # paragraphs in order, blank ones left out
    at = next((k for k, (_i, item) in enumerate(lines) if anchors.get(item.line) == target), None)
    if at is None:
        return Excerpt(location, name, [], f"文档中没有第 {par_no} 段。")
    window = lines[max(0, at - context // 2) : at + context // 2 + 1]
    shown = [
        Line(anchors.get(item.line, ""), item.text, anchors.get(item.line) == target)
        for _i, item in window
    ]
    return Excerpt(location, name, [Block("text", lines=shown)])


# -- Excel ----------------------------------------------------------------------------------

_XLSX = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!([A-Z]*)(\d+)(?::([A-Z]*)(\d+))?$")


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _xlsx(name: str, data: bytes, location: str, rest: str, context: int) -> Excerpt:
    import openpyxl

    from engine.importers._grid import column_letter
    from engine.importers.sheets import show_value

    match = _XLSX.match(rest.split(" ", maxsplit=1)[0])
    if not match:
        return Excerpt(location, name, [], "无法识别该 Excel 位置。")
    quoted, plain_name, c1, r1, c2, r2 = match.groups()
    sheet_name = quoted.replace("''", "'") if quoted else plain_name
    row1, row2 = int(r1), int(r2 or r1)
    col1, col2 = (_col(c1) if c1 else 0), (_col(c2) if c2 else (_col(c1) if c1 else 0))
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    try:
        if sheet_name not in book.sheetnames:
            return Excerpt(location, name, [], f"工作簿中没有工作表「{sheet_name}」。")
        sheet = book[sheet_name]
        first = max(1, row1 - context // 2)
        last = min(sheet.max_row, max(row2, row1 + context // 2), first + MAX_CONTEXT)
        width = min(sheet.max_column, 20)
        rows = []
        for r in range(first, last + 1):
            cells = []
            for c in range(1, width + 1):
                cell = sheet.cell(row=r, column=c)
                text = "" if cell.value is None else show_value(cell.value, cell.number_format)
                in_rows = row1 <= r <= row2
                in_cols = not col1 or col1 <= c <= col2
                cells.append(Cell(text, f"{column_letter(c)}{r}", in_rows and in_cols))
            rows.append(cells)
    finally:
        book.close()
    return Excerpt(location, name, [Block("table", rows=rows)])


# -- the manifest ---------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _manifest(submission: Submission, location: str) -> Excerpt:
    key = location[len(MANIFEST) :].strip()
    if submission.form == "toml":
        text = str(submission.manifest)
    else:
        text = json.dumps(submission.manifest, ensure_ascii=False, indent=2)
    wanted = re.sub(r"\[(\d+)\]", r".\1", key)  # units[1] -> units.1
    lines = []
    if submission.form == "toml":
        prefix = ""
        counts: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(raw)
            if header:
                name = header.group(2)
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    prefix = f"{name}.{counts[name]}"
                else:
                    prefix = name
                path = prefix
            else:
                k = _KEY.match(raw)
                path = f"{prefix}.{k.group(1)}" if k and prefix else (k.group(1) if k else "")
            hit = bool(wanted) and bool(path) and (path == wanted or path.startswith(wanted + "."))
            lines.append(Line(str(number), raw, hit))
    else:
        last = wanted.split(".")[-1] if wanted else ""
        for number, raw in enumerate(text.splitlines(), start=1):
            lines.append(Line(str(number), raw, bool(last) and f'"{last}"' in raw))
    return Excerpt(location, MANIFEST, [Block("text", lines=lines)])
