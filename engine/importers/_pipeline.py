"""The recognisers shared by every importer: tables by title, report by title, free lines.

A reader (text, Word, Excel) turns its document into a stream of items: tables as rows of
cells, free lines, blank lines. `recognise` then classifies each table by the lines right above
it (else by its content), finds the report, places notes, builds the model and warns about
whatever it could not place. Positions (`line`) are the reader's: text line numbers, or opaque
keys that the Context maps to anchors ("表2行4列3", "自评表!C12").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from engine.importers._basic import build_basic_data
from engine.importers._cells import normalize_text
from engine.importers._context import Context, TableKind, strip_colon
from engine.importers._report import HeadingMatcher, build_report
from engine.importers._scan import BlankLine, FreeLine, Item, RawTable
from engine.importers._selfeval import build_self_eval
from engine.model.package import (
    BasicDataTable,
    ImportWarning,
    Report,
    SelfEvalTable,
)


@dataclass(frozen=True)
class ImportedDocuments:
    """What one document yielded."""

    basic_data: BasicDataTable | None
    department_table: SelfEvalTable | None
    project_tables: list[SelfEvalTable]
    report: Report | None
    warnings: list[ImportWarning]
    rows_read: int  # blank-line-separated rows of every table, the rubric table included


@dataclass
class _Table:
    raw: RawTable
    item: int
    kind: TableKind | None
    title: str
    title_lines: list[tuple[int, FreeLine]]


def recognise(items: list[Item], ctx: Context) -> ImportedDocuments:
    """Build the model from a reader's items: basic data, department and project tables,
    report, and a warning for everything that could not be placed."""
    rows_read = sum(len(item.rows) for item in items if isinstance(item, RawTable))
    consumed: set[int] = set()
    tables = [
        _classify(items, index, ctx, consumed)
        for index, item in enumerate(items)
        if isinstance(item, RawTable)
    ]

    report, report_items = _find_report(items, tables, consumed, ctx)
    notes, rubric_tails = _place_free_lines(items, tables, consumed | report_items, ctx)

    basic: BasicDataTable | None = None
    department: SelfEvalTable | None = None
    projects: list[SelfEvalTable] = []
    for table in tables:
        if table.kind == "rubric":
            start = table.title_lines[0][1].line if table.title_lines else table.raw.start
            tail = rubric_tails.get(table.item, 0)
            ctx.warn(
                "IMPORT_RUBRIC_TABLE_IGNORED",
                f"the bureau's scoring rubric is not part of the package; "
                f"{len(table.raw.rows)} rows and {tail} lines after it skipped",
                ctx.loc(table=table.title, line=start),
                table.title,
            )
        elif table.kind == "basic_data" and basic is None:
            basic = build_basic_data(table.raw, table.title, notes.get(table.item, []), ctx)
        elif table.kind == "department" and department is None:
            department = build_self_eval(table.raw, "department", table.title, ctx)
        elif table.kind == "project":
            projects.append(build_self_eval(table.raw, "project", table.title, ctx))
        else:
            _unplace_table(table, ctx)

    warnings = ctx.sorted_warnings()
    return ImportedDocuments(
        basic_data=basic,
        department_table=department,
        project_tables=projects,
        report=report,
        warnings=warnings,
        rows_read=rows_read,
    )


def _norm_line(item: FreeLine) -> str:
    return normalize_text(item.text)


def _classify(items: list[Item], index: int, ctx: Context, consumed: set[int]) -> _Table:
    """A table's kind and title, from the non-blank lines right above it (else its content)."""
    raw = items[index]
    assert isinstance(raw, RawTable)
    block: list[tuple[int, FreeLine]] = []
    k = index - 1
    while k >= 0 and len(block) < ctx.layout.tables.max_title_lines and k not in consumed:
        item = items[k]
        if not isinstance(item, FreeLine):
            break
        block.insert(0, (k, item))
        k -= 1
    # The shortest run of lines ending right above the table that names a kind is the title.
    for start in range(len(block) - 1, -1, -1):
        joined = "".join(_norm_line(line) for _, line in block[start:])
        kind = ctx.title_kind(joined)
        if kind is not None:
            first = start
            if first > 0 and ctx.is_attachment_label(_norm_line(block[first - 1][1])):
                first -= 1  # "附件5" above the title belongs to it
            title_lines = block[first:]
            consumed.update(i for i, _ in title_lines)
            title = "".join(
                _norm_line(line)
                for _, line in title_lines
                if not ctx.is_attachment_label(_norm_line(line))
            )
            return _Table(raw, index, kind, title, title_lines)
    titled = _title_row(raw, ctx)
    if titled is not None:
        return _Table(raw, index, titled[0], titled[1], [])
    kind = _kind_by_content(raw, ctx)
    title = ctx.title_keyword(kind) if kind is not None else ""
    return _Table(raw, index, kind, title, [])


def _title_row(table: RawTable, ctx: Context) -> tuple[TableKind, str] | None:
    """A first row holding only the table's title (Word and Excel forms often merge the title
    across the table's top row): the kind and title; the row is taken out of the table."""
    first = next((row for row in table.rows if not row.is_empty), None)
    if first is None:
        return None
    texts = [text for text in first.texts if text]
    if len(set(texts)) != 1:
        return None
    kind = ctx.title_kind(texts[0])
    if kind is None:
        return None
    table.rows = table.rows[table.rows.index(first) + 1 :]
    return kind, texts[0]


def _kind_by_content(table: RawTable, ctx: Context) -> TableKind | None:
    """Without a title: the department/project name field or a basic-data block title."""
    lay = ctx.layout.self_eval
    first = next((row for row in table.rows if not row.is_empty), None)
    if first is None:
        return None
    texts = [strip_colon(text) for text in first.texts]
    department = {normalize_text(word) for word in lay.department_name_fields}
    project = {normalize_text(word) for word in lay.project_name_fields}
    if department & set(texts):
        return "department"
    if project & set(texts):
        return "project"
    blocks = [normalize_text(word) for word in ctx.layout.basic_data.block_titles if word]
    if texts and any(word in texts[0] for word in blocks):
        return "basic_data"
    return None


def _find_report(
    items: list[Item], tables: list[_Table], consumed: set[int], ctx: Context
) -> tuple[Report | None, set[int]]:
    """The report: its title line (with the lines right above it) and the lines that follow,
    up to the next package or rubric table (unknown tables inside it do not end it)."""
    layout = ctx.layout.report
    keywords = [normalize_text(word) for word in layout.title_keywords if word]
    headings = HeadingMatcher(ctx)

    def plain(text: str) -> bool:
        return not (ctx.is_note(text) or ctx.is_signature(text) or ctx.is_date(text))

    title_at: int | None = None
    for index, item in enumerate(items):
        if not isinstance(item, FreeLine) or index in consumed:
            continue
        text = _norm_line(item)
        if (
            any(word in text for word in keywords)
            and len(text) <= layout.max_title_length
            and plain(text)
            and not text.endswith(tuple(layout.heading_forbidden_endings) or ("。",))
            and headings.match(item.text) is None
        ):
            title_at = index
            break
    if title_at is None:
        return None, set()
    start = title_at
    while start - 1 >= 0 and title_at - start + 1 < ctx.layout.tables.max_title_lines:
        above = items[start - 1]
        if not isinstance(above, FreeLine) or start - 1 in consumed:
            break
        text = _norm_line(above)
        if not plain(text) or text.endswith("。") or headings.match(above.text) is not None:
            break
        start -= 1
    ends = {table.item for table in tables if table.kind is not None}
    ends |= {i for table in tables if table.kind is not None for i, _ in table.title_lines}
    end = next((i for i in range(title_at + 1, len(items)) if i in ends), len(items))
    title_lines = [item for item in items[start : title_at + 1] if isinstance(item, FreeLine)]
    body = [
        item
        for i, item in enumerate(items[title_at + 1 : end], start=title_at + 1)
        if isinstance(item, FreeLine) and i not in consumed
    ]
    used = set(range(start, end))
    return build_report(title_lines, body, ctx), used


def _place_free_lines(
    items: list[Item], tables: list[_Table], used: set[int], ctx: Context
) -> tuple[dict[int, list[str]], dict[int, int]]:
    """Notes after the basic data table go to its notes; lines after the rubric belong to the
    rubric; every other line outside tables and report is an IMPORT_LINE_UNPLACED warning.

    Returns (item index of a basic data table -> its notes, item index of a rubric table ->
    number of lines after it that were skipped with it).
    """
    by_item = {table.item: table for table in tables}
    notes: dict[int, list[str]] = {}
    rubric_tails: dict[int, int] = {}
    previous: _Table | None = None
    note_open = False  # a note's wrapped lines follow it without a blank line
    for index, item in enumerate(items):
        if isinstance(item, RawTable):
            previous = by_item[index]
            note_open = False
            continue
        if isinstance(item, BlankLine):
            note_open = False
            continue
        if index in used:
            continue
        text = _norm_line(item)
        if not text:
            continue
        owner: Literal["basic", "rubric", None] = None
        if previous is not None and previous.kind == "basic_data":
            owner = "basic"
        elif previous is not None and previous.kind == "rubric":
            owner = "rubric"
        if owner == "rubric" and previous is not None:
            # text after the rubric table is the rubric's (its notes), not the package's
            rubric_tails[previous.item] = rubric_tails.get(previous.item, 0) + 1
            continue
        if owner == "basic" and previous is not None and ctx.is_note(text):
            notes.setdefault(previous.item, []).append(text)
            note_open = True
            continue
        if (
            owner == "basic"
            and previous is not None
            and note_open
            and not (ctx.is_signature(text) or ctx.is_date(text))
        ):
            notes[previous.item][-1] += text
            continue
        note_open = False
        ctx.warn(
            "IMPORT_LINE_UNPLACED",
            "line outside every table and outside the report",
            ctx.loc(line=item.line),
            text,
        )
    return notes, rubric_tails


def _unplace_table(table: _Table, ctx: Context) -> None:
    """A table of unknown kind, or a second basic data / department table: keep its rows."""
    reason = "unknown table" if table.kind is None else f"second {table.kind} table"
    ctx.warn(
        "IMPORT_TABLE_UNPLACED",
        f"{reason}: {len(table.raw.rows)} rows not read",
        ctx.loc(table=table.title, line=table.raw.start),
        table.title,
    )
    for row in table.raw.rows:
        if not row.is_empty:
            ctx.warn(
                "IMPORT_ROW_UNPLACED",
                reason,
                ctx.loc(table=table.title, line=row.line),
                " | ".join(row.texts),
            )
