"""Build the Word and Excel renditions of the seed package, and the awkward and hostile variants.

    .venv/bin/python scripts/make_fixtures.py            # rebuild everything
    .venv/bin/python scripts/make_fixtures.py --check    # only say whether the files exist

The seed (examples/yueyang-kjj-2023/package.txt) is read with the text importer's own scanner,
so every table is laid out from the same rows of cells. Each table gets a column grid with the
merged cells of the real forms: a row with fewer cells than the table's widest row spans the
missing columns (right-aligned, like Word's own extraction), a leading empty cell continues
the label above it (vertical merge: 年度预算申请, 一级指标, 二级指标, 绩效指标).

Outputs:
- examples/yueyang-kjj-2023/package.docx, package.xlsx (the seed; figures in the .xlsx are
  numbers with display formats, as a finance office keeps them)
- tests/documents/fixtures/package.xls (python-calamine path; written with xlwt)
- tests/documents/fixtures/variant-*.docx|xlsx (content control, tracked insertion, blank and
  repeated header rows, columns in another order, mixed report numbering, stray cells)
- tests/documents/fixtures/wording-*.docx (other templates' header wording: lettered MOF
  columns, unit suffixes, synonyms, and one column no layout word names)
- tests/documents/fixtures/encrypted.docx|xlsx|xls (password "jixiao")

Needs python-docx, openpyxl, xlwt, msoffcrypto-tool and olefile (dev dependencies).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import struct
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.importers._cells import normalize_text, parse_number  # noqa: E402
from engine.importers._context import Context  # noqa: E402
from engine.importers._layout import default_layout  # noqa: E402
from engine.importers._scan import BlankLine, FreeLine, Item, RawTable, scan  # noqa: E402

SEED = ROOT / "examples" / "yueyang-kjj-2023" / "package.txt"
EXAMPLE = ROOT / "examples" / "yueyang-kjj-2023"
FIXTURES = ROOT / "tests" / "documents" / "fixtures"
PASSWORD = "jixiao"
FIXED_TIME = dt.datetime(2024, 6, 28, 9, 0, 0)


# --- the seed as rows of cells, laid on a column grid -------------------------------------------


@dataclass
class GridCell:
    """One cell of a laid-out table: its lines, first column and span, and its vertical merge."""

    lines: list[str]
    column: int  # 0-based
    span: int
    merge_down: int = 0  # rows below that continue this cell (vertical merge)
    continued: bool = False  # this cell continues the one above


@dataclass
class GridTable:
    width: int
    rows: list[list[GridCell]] = field(default_factory=list)


def _text(lines: list[str]) -> str:
    return normalize_text("\n".join(lines))


def lay_out(table: RawTable) -> GridTable:
    """A column grid for a table given as rows of cells (see the module docstring)."""
    width = max(len(row.cells) for row in table.rows)
    grid = GridTable(width)
    previous: list[GridCell] | None = None
    for row in table.rows:
        cells = [cell.lines for cell in row.cells]
        k = len(cells)
        spans: list[int]
        if k == 1:
            spans = [width]
        elif k <= 3:
            # Few cells: a label column as wide as the one above, the rest shared evenly.
            first = previous[0].span if previous and previous[0].span <= width - (k - 1) else 1
            rest = width - first
            spans = [first] + [rest // (k - 1)] * (k - 1)
            spans[-1] += rest - sum(spans[1:])
        else:
            spans = [width - k + 1] + [1] * (k - 1)
        out: list[GridCell] = []
        column = 0
        for lines, span in zip(cells, spans, strict=True):
            out.append(GridCell(lines, column, span))
            column += span
        if previous is not None:
            above = {(c.column, c.span): c for c in previous}
            for cell in out:
                if _text(cell.lines):
                    break  # only leading empty cells continue a label above
                top = above.get((cell.column, cell.span))
                if top is not None and (top.continued or _text(top.lines)):
                    cell.continued = True
        grid.rows.append(out)
        previous = out
    # Count each merge's continuation rows on its top cell.
    for r, row in enumerate(grid.rows):
        for cell in row:
            if cell.continued:
                continue
            below = r + 1
            while below < len(grid.rows):
                match = [
                    c
                    for c in grid.rows[below]
                    if c.column == cell.column and c.span == cell.span and c.continued
                ]
                if not match:
                    break
                cell.merge_down += 1
                below += 1
    return grid


def seed_items() -> list[Item]:
    ctx = Context.build(default_layout(), "package.txt")
    text = SEED.read_text("utf-8").removeprefix("\ufeff")
    return scan([line.removesuffix("\r") for line in text.split("\n")], ctx.stops_table)


# --- Word ------------------------------------------------------------------------------------


def _w(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _new_document():  # type: ignore[no-untyped-def]
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = docx.Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    props = document.core_properties
    props.author = "jixiao fixtures"
    props.created = props.modified = FIXED_TIME
    props.last_modified_by = "jixiao fixtures"
    props.revision = 1
    return document


def _fill_cell(cell, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    paragraphs = cell.paragraphs
    paragraphs[0].text = lines[0] if lines else ""
    for line in lines[1:]:
        cell.add_paragraph(line)


def add_word_table(document, grid: GridTable):  # type: ignore[no-untyped-def]
    """A Word table with the grid's merged cells; returns the python-docx table."""
    table = document.add_table(rows=len(grid.rows), cols=grid.width)
    table.style = document.styles["Table Grid"]
    for r, row in enumerate(grid.rows):
        for cell in row:
            if cell.continued:
                continue
            last_row = r + cell.merge_down
            last_col = cell.column + cell.span - 1
            top = table.cell(r, cell.column)
            if last_row != r or last_col != cell.column:
                top = top.merge(table.cell(last_row, last_col))
            _fill_cell(top, cell.lines)
    return table


def build_docx(items: list[Item], *, mutate=None) -> bytes:  # type: ignore[no-untyped-def]
    """The seed as a Word document; `mutate(document, kind, obj, index)` may alter each part."""
    document = _new_document()
    # python-docx's template starts with one empty paragraph: reuse nothing, remove it.
    body = document.element.body
    for p in list(body.iterchildren(_w("w:p"))):
        body.remove(p)
    table_index = 0
    for index, item in enumerate(items):
        if isinstance(item, RawTable):
            grid = lay_out(item)
            if mutate is not None:
                grid = mutate("grid", grid, table_index) or grid
            table = add_word_table(document, grid)
            if mutate is not None:
                mutate("table", (document, table), table_index)
            table_index += 1
        elif isinstance(item, FreeLine):
            paragraph = document.add_paragraph(item.text)
            if mutate is not None:
                mutate("line", (document, paragraph), index)
        elif isinstance(item, BlankLine):
            document.add_paragraph("")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- Excel -----------------------------------------------------------------------------------

SHEET_TITLES = (
    ("基础数据表", "基础数据表"),
    ("部门整体支出绩效自评表", "部门整体支出自评表"),
    ("项目支出绩效自评表", "项目支出自评表"),
    ("报告", "自评报告"),
    ("附件", "附件5评分表"),
)


def split_sheets(items: list[Item]) -> list[tuple[str, list[Item]]]:
    """Cut the seed where a title block starts (after blank lines): one sheet per part."""
    sheets: list[tuple[str, list[Item]]] = []
    current: list[Item] = []
    name = "Sheet1"
    for index, item in enumerate(items):
        starts = False
        if isinstance(item, FreeLine) and index > 0 and isinstance(items[index - 1], BlankLine):
            nxt = items[index + 1] if index + 1 < len(items) else None
            joined = normalize_text(item.text) + (
                normalize_text(nxt.text) if isinstance(nxt, FreeLine) else ""
            )
            for keyword, title in SHEET_TITLES:
                if keyword in joined and not joined.startswith(("说明", "备注")):
                    starts, new_name = True, title
                    break
        if starts and any(not isinstance(i, BlankLine) for i in current):
            sheets.append((name, current))
            current = []
        if starts:
            name = new_name
        current.append(item)
    sheets.append((name, current))
    # Leading and trailing blank lines of a sheet are page breaks, not content.
    out = []
    for title, chunk in sheets:
        start = 0
        while start < len(chunk) and isinstance(chunk[start], BlankLine):
            start += 1
        out.append((title, chunk[start:]))
    return out


def _excel_value(lines: list[str], typed: bool) -> tuple[object, str | None]:
    """The value to store and its number format: figures as numbers when `typed`."""
    raw = "\n".join(lines)
    if not typed:
        return raw, None
    number, percent = parse_number(raw)
    text = normalize_text(raw)
    if number is None or "," in text:
        return raw, None
    places = (
        max(-number.as_tuple().exponent, 0) if isinstance(number.as_tuple().exponent, int) else 0
    )
    fmt = "0" + ("." + "0" * places if places else "")
    if percent:
        return float(number / Decimal(100)), fmt + "%"
    return (int(number) if places == 0 else float(number)), fmt


def build_xlsx(items: list[Item], *, typed: bool = True, mutate=None) -> bytes:  # type: ignore[no-untyped-def]
    """The seed as a workbook, one sheet per part, tables with merged ranges."""
    import openpyxl
    from openpyxl.styles import Alignment, Border, Side

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    book = openpyxl.Workbook()
    book.remove(book.active)
    book.properties.creator = "jixiao fixtures"
    book.properties.created = book.properties.modified = FIXED_TIME
    table_index = 0
    for title, chunk in split_sheets(items):
        sheet = book.create_sheet(title)
        r = 1
        for item in chunk:
            if isinstance(item, BlankLine):
                r += 1
            elif isinstance(item, FreeLine):
                sheet.cell(r, 1, item.text)
                r += 1
            elif isinstance(item, RawTable):
                grid = lay_out(item)
                if mutate is not None:
                    grid = mutate("grid", grid, table_index) or grid
                table_index += 1
                for offset, row in enumerate(grid.rows):
                    for cell in row:
                        if cell.continued:
                            continue
                        value, fmt = _excel_value(cell.lines, typed)
                        target = sheet.cell(r + offset, cell.column + 1, value)
                        if fmt:
                            target.number_format = fmt
                        target.alignment = Alignment(wrap_text=True, vertical="center")
                        last_row = r + offset + cell.merge_down
                        last_col = cell.column + cell.span
                        for rr in range(r + offset, last_row + 1):
                            for cc in range(cell.column + 1, last_col + 1):
                                sheet.cell(rr, cc).border = box
                        if last_row != r + offset or cell.span > 1:
                            sheet.merge_cells(
                                start_row=r + offset,
                                start_column=cell.column + 1,
                                end_row=last_row,
                                end_column=last_col,
                            )
                r += len(grid.rows)
        sheet.column_dimensions["A"].width = 24
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def build_xls(items: list[Item]) -> bytes:
    """The seed as an Excel 97-2003 workbook (xlwt), texts only, merged ranges kept."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for title, chunk in split_sheets(items):
        sheet = book.add_sheet(title)
        r = 0
        for item in chunk:
            if isinstance(item, BlankLine):
                r += 1
            elif isinstance(item, FreeLine):
                sheet.write(r, 0, item.text)
                r += 1
            elif isinstance(item, RawTable):
                grid = lay_out(item)
                for offset, row in enumerate(grid.rows):
                    for cell in row:
                        if cell.continued:
                            continue
                        value = "\n".join(cell.lines)
                        last_row = r + offset + cell.merge_down
                        last_col = cell.column + cell.span - 1
                        if last_row != r + offset or cell.span > 1:
                            sheet.write_merge(r + offset, last_row, cell.column, last_col, value)
                        else:
                            sheet.write(r + offset, cell.column, value)
                r += len(grid.rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- awkward variants --------------------------------------------------------------------------


def _wrap_in_content_control(document, table) -> None:  # type: ignore[no-untyped-def]
    from docx.oxml import OxmlElement

    sdt = OxmlElement("w:sdt")
    properties = OxmlElement("w:sdtPr")
    alias = OxmlElement("w:alias")
    alias.set(_w("w:val"), "部门整体支出绩效自评表")
    properties.append(alias)
    content = OxmlElement("w:sdtContent")
    sdt.append(properties)
    sdt.append(content)
    tbl = table._tbl
    tbl.addprevious(sdt)
    content.append(tbl)


def variant_content_control(items: list[Item]) -> bytes:
    """The department table (the second table) inside a content control (w:sdt)."""

    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind == "table" and index == 1:
            _wrap_in_content_control(*obj)

    return build_docx(items, mutate=mutate)


def _tracked(paragraph, keep: str, inserted: str, deleted: str) -> None:  # type: ignore[no-untyped-def]
    """Rewrite a paragraph as `keep`, then `inserted` as a tracked insertion, then `deleted`
    as a tracked deletion (which a reader must leave out)."""
    from docx.oxml import OxmlElement

    for run in list(paragraph.runs):
        run._r.getparent().remove(run._r)
    paragraph.add_run(keep)
    ins = OxmlElement("w:ins")
    ins.set(_w("w:id"), "101")
    ins.set(_w("w:author"), "审核人")
    ins.set(_w("w:date"), "2024-06-27T10:00:00Z")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = inserted
    run.append(text)
    ins.append(run)
    paragraph._p.append(ins)
    deletion = OxmlElement("w:del")
    deletion.set(_w("w:id"), "102")
    deletion.set(_w("w:author"), "审核人")
    deletion.set(_w("w:date"), "2024-06-27T10:00:00Z")
    run = OxmlElement("w:r")
    text = OxmlElement("w:delText")
    text.text = deleted
    run.append(text)
    deletion.append(run)
    paragraph._p.append(deletion)


def variant_tracked(items: list[Item]) -> bytes:
    """Tracked changes: the department's name cell and a report paragraph end in an insertion
    and carry a deletion; the accepted text equals the seed."""

    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind == "table" and index == 1:
            _document, table = obj
            for row in table.rows:
                for cell in row.cells:
                    paragraph = cell.paragraphs[0]
                    if paragraph.text.startswith("岳阳市科学技术局本级"):
                        _tracked(paragraph, "岳阳市科学技术局", paragraph.text[8:], "（草稿）")
                        return
        if kind == "line":
            _document, paragraph = obj
            if paragraph.text.startswith("由于绩效管理工作开展时间短"):
                text = paragraph.text
                _tracked(paragraph, text[:20], text[20:], "删去的旧句子。")

    return build_docx(items, mutate=mutate)


def _is_indicator_header(row: list[GridCell]) -> bool:
    texts = [_text(c.lines) for c in row]
    return "一级指标" in texts and "三级指标" in texts


def _blank_and_repeated(grid: GridTable, index: int) -> GridTable:
    """A blank row and a repeated header row inside the indicator block of the department and
    project tables, and a repeated block header in the basic data table."""
    grid = copy.deepcopy(grid)
    rows = grid.rows
    header_at = next((i for i, row in enumerate(rows) if _is_indicator_header(row)), None)
    if header_at is not None:
        # After four indicator rows, as if a page broke there: the merges that cross it end.
        at = min(header_at + 5, len(rows) - 1)
        repeated = copy.deepcopy(rows[header_at])
        for cell in repeated:
            cell.merge_down, cell.continued = 0, False
        blank = [GridCell([""], c, 1) for c in range(grid.width)]
        rows[at:at] = [blank, repeated]
        _fix_merges(grid)
    elif index == 0:  # basic data: repeat the second block's header after its first row
        headers = [i for i, row in enumerate(rows) if "经费控制" in _text(row[0].lines)]
        if headers:
            repeated = copy.deepcopy(rows[headers[0]])
            for cell in repeated:
                cell.merge_down, cell.continued = 0, False
            rows.insert(headers[0] + 2, repeated)
            _fix_merges(grid)
    return grid


def _fix_merges(grid: GridTable) -> None:
    """Recount vertical merges after rows were inserted (an inserted row breaks a merge)."""
    for r, row in enumerate(grid.rows):
        for cell in row:
            if cell.continued and r > 0:
                above = [
                    c for c in grid.rows[r - 1] if c.column == cell.column and c.span == cell.span
                ]
                if not above:
                    cell.continued = False
            cell.merge_down = 0
    for r, row in enumerate(grid.rows):
        for cell in row:
            if cell.continued:
                continue
            below = r + 1
            while below < len(grid.rows) and any(
                c.column == cell.column and c.span == cell.span and c.continued
                for c in grid.rows[below]
            ):
                cell.merge_down += 1
                below += 1


def variant_headers(items: list[Item], fmt: str) -> bytes:
    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind == "grid":
            return _blank_and_repeated(obj, index)
        return None

    return build_docx(items, mutate=mutate) if fmt == "docx" else build_xlsx(items, mutate=mutate)


def _reorder(grid: GridTable, index: int) -> GridTable:
    """Indicator columns in another order: 实际完成值 before 年度指标值, 得分 before 分值. The
    cells are right-aligned on the indicator columns, so positions count from the right."""
    grid = copy.deepcopy(grid)
    header_at = next((i for i, row in enumerate(grid.rows) if _is_indicator_header(row)), None)
    if header_at is None:
        return grid
    for row in grid.rows[header_at:]:
        texts = [_text(c.lines) for c in row]
        if texts and texts[0] == "总分":
            # 总分 | 分值 | 得分 | …: the total row follows the header's order too
            row[1].lines, row[2].lines = row[2].lines, row[1].lines
            continue
        if len(row) < 8:
            continue
        for a, b in ((-5, -4), (-3, -2)):
            row[a].lines, row[b].lines = row[b].lines, row[a].lines
    return grid


def variant_columns(items: list[Item]) -> bytes:
    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        return _reorder(obj, index) if kind == "grid" else None

    return build_xlsx(items, mutate=mutate)


LEVEL1 = ("一、", "2、", "第三部分 ", "四.", "5、", "六、", "第七部分 ", "8、", "九、")
LEVEL2 = ("（一）", "(2)", "（三）", "(4)")


def renumbered(items: list[Item]) -> tuple[list[Item], list[str]]:
    """The report's headings renumbered in mixed styles; one level-1 heading loses its number
    (kept as a heading by its Word style). Returns the items and the unnumbered headings."""
    from engine.importers._report import HeadingMatcher

    ctx = Context.build(default_layout(), "package.txt")
    matcher = HeadingMatcher(ctx)
    out: list[Item] = []
    in_report = False
    one = two = 0
    unnumbered: list[str] = []
    for item in items:
        if isinstance(item, FreeLine) and "绩效自评报告" in item.text:
            in_report = True
        if isinstance(item, FreeLine) and item.text.startswith("附件"):
            in_report = False
        if not (in_report and isinstance(item, FreeLine)):
            out.append(item)
            continue
        heading = matcher.match(item.text)
        if heading is None or heading[2] > 2:
            out.append(item)
            continue
        _numbering, title, level = heading
        if level == 1:
            number = LEVEL1[one % len(LEVEL1)]
            one += 1
            two = 0
            if one == 5:  # 社会保险基金预算支出情况: no number at all
                unnumbered.append(title)
                out.append(FreeLine(item.line, title))
                continue
        else:
            number = LEVEL2[two % len(LEVEL2)]
            two += 1
        out.append(FreeLine(item.line, number + title))
    return out, unnumbered


def variant_numbering(items: list[Item]) -> bytes:
    changed, unnumbered = renumbered(items)

    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind == "line":
            _document, paragraph = obj
            if normalize_text(paragraph.text) in unnumbered:
                paragraph.style = _document.styles["Heading 1"]

    return build_docx(changed, mutate=mutate)


def variant_stray(items: list[Item]) -> bytes:
    """Cells that fit nowhere: a note row inside the department table's funding block and a
    sheet holding an unknown table. Each must come back as a warning with its sheet cell."""
    import openpyxl

    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind == "grid" and index == 1:
            grid = copy.deepcopy(obj)
            row = [GridCell(["手工备注"], 0, 2), GridCell(["请财务科核对"], 2, grid.width - 2)]
            grid.rows.insert(3, row)
            _fix_merges(grid)
            return grid
        return None

    data = build_xlsx(items, mutate=mutate)
    book = openpyxl.load_workbook(io.BytesIO(data))
    extra = book.create_sheet("草稿")
    extra.append(["序号", "事项", "负责人"])
    extra.append([1, "整理凭证", "张三"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- encrypted files -------------------------------------------------------------------------


def encrypt_ooxml(data: bytes) -> bytes:
    """An OOXML file protected with PASSWORD (MS-OFFCRYPTO agile encryption)."""
    import msoffcrypto.format.ooxml

    source = msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(data))
    out = io.BytesIO()
    source.encrypt(PASSWORD, out)
    return out.getvalue()


def encrypted_xls(data: bytes) -> bytes:
    """An .xls whose Workbook stream carries a FILEPASS record, as Excel writes for a password.

    xlwt cannot encrypt, so the record after BOF (WRITEACCESS or INTERFACEHDR) is renamed to
    FILEPASS in place, keeping the stream's length (olefile only rewrites streams in place).
    Readers stop at FILEPASS; the bytes after it need not be real ciphertext for that.
    """
    import olefile

    buffer = io.BytesIO(data)
    with olefile.OleFileIO(buffer, write_mode=True) as ole:
        stream = bytearray(ole.openstream("Workbook").read())
        _, length = struct.unpack_from("<HH", stream, 0)
        offset = 4 + length  # the record after BOF
        struct.pack_into("<H", stream, offset, 0x002F)
        ole.write_stream("Workbook", bytes(stream))
    return buffer.getvalue()


# Other templates' wording of the same columns: each variant renames header cells (matched on
# their normalised text) and must import to the same model (except IMPORT_HEADER_UNPLACED).
WORDINGS: dict[str, dict[str, str]] = {
    # the MOF template's lettered columns
    "letters": {
        "全年预算数": "全年预算数（A）",
        "全年执行数": "全年执行数（B）",
        "执行率": "执行率（B/A）",
    },
    # unit suffixes on the money columns
    "units": {
        "年初预算数": "年初预算数（万元）",
        "全年预算数": "全年预算数（万元）",
        "全年执行数": "全年执行数（万元）",
    },
    # synonyms of the indicator, target and deviation columns
    "synonyms": {
        "年度指标值": "年度目标值",
        "实际完成值": "全年实际值",
        "偏差原因分析及改进措施": "未完成原因分析及改进措施",
        "全年执行数": "实际执行数",
    },
    # a column no layout word names: a warning that names it
    "unknown": {"偏差原因分析及改进措施": "情况说明"},
}


def variant_wording(items: list[Item], renames: dict[str, str]) -> bytes:
    def mutate(kind, obj, index):  # type: ignore[no-untyped-def]
        if kind != "grid":
            return None
        grid = copy.deepcopy(obj)
        for row in grid.rows:
            for cell in row:
                new = renames.get(_text(cell.lines))
                if new is not None:
                    cell.lines = [new]
        return grid

    return build_docx(items, mutate=mutate)


# --- main ------------------------------------------------------------------------------------


def outputs() -> dict[Path, bytes]:
    items = seed_items()
    docx_seed = build_docx(items)
    xlsx_seed = build_xlsx(items)
    xls_seed = build_xls(items)
    return {
        EXAMPLE / "package.docx": docx_seed,
        EXAMPLE / "package.xlsx": xlsx_seed,
        FIXTURES / "package.xls": xls_seed,
        FIXTURES / "variant-content-control.docx": variant_content_control(items),
        FIXTURES / "variant-tracked.docx": variant_tracked(items),
        FIXTURES / "variant-headers.docx": variant_headers(items, "docx"),
        FIXTURES / "variant-headers.xlsx": variant_headers(items, "xlsx"),
        FIXTURES / "variant-columns.xlsx": variant_columns(items),
        FIXTURES / "variant-numbering.docx": variant_numbering(items),
        FIXTURES / "variant-stray.xlsx": variant_stray(items),
        **{
            FIXTURES / f"wording-{name}.docx": variant_wording(items, renames)
            for name, renames in WORDINGS.items()
        },
        FIXTURES / "encrypted.docx": encrypt_ooxml(docx_seed),
        FIXTURES / "encrypted.xlsx": encrypt_ooxml(xlsx_seed),
        FIXTURES / "encrypted.xls": encrypted_xls(xls_seed),
    }


def main(argv: list[str]) -> int:
    if "--check" in argv:
        names = [
            "package.xls",
            "variant-content-control.docx",
            "variant-tracked.docx",
            "variant-headers.docx",
            "variant-headers.xlsx",
            "variant-columns.xlsx",
            "variant-numbering.docx",
            "variant-stray.xlsx",
            *(f"wording-{name}.docx" for name in WORDINGS),
            "encrypted.docx",
            "encrypted.xlsx",
            "encrypted.xls",
        ]
        missing = [n for n in names if not (FIXTURES / n).exists()]
        missing += [n for n in ("package.docx", "package.xlsx") if not (EXAMPLE / n).exists()]
        print("missing: " + ", ".join(missing) if missing else "all fixtures present")
        return 1 if missing else 0
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for path, data in outputs().items():
        path.write_bytes(data)
        print(f"{path.relative_to(ROOT)}  {len(data):>7} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
