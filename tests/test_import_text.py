"""The text importer on the seed package (岳阳市科学技术局 FY2023) and on mutated copies of it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.importers import (
    ImportedDocuments,
    TextLayout,
    default_layout,
    import_text,
    load_layout,
    normalize_text,
    parse_number,
)
from engine.model.package import Cell, IndicatorRow, SelfEvalTable

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "yueyang-kjj-2023" / "package.txt"
LAYOUT = ROOT / "rules" / "layout" / "2024.1.toml"
DOC = "package.txt"


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def layout() -> TextLayout:
    return default_layout()


@pytest.fixture(scope="module")
def docs(seed_text: str, layout: TextLayout) -> ImportedDocuments:
    return import_text(seed_text, document=DOC, layout=layout)


def run(text: str) -> ImportedDocuments:
    return import_text(text, document=DOC, layout=default_layout())


# --- an independent reading of the raw layout (for counts and mutations) -----------------------


def _blank(line: str) -> bool:
    return line.strip(" \r") == ""


def row_ranges(lines: list[str]) -> list[tuple[int, int]]:
    """[start, stop) line index ranges of the table rows, read with this rule only:

    Split the lines into groups at runs of blank lines (lines of ASCII spaces only). A group is a
    table row when it contains a tab-prefixed line. Exception: a group that starts with a non-tab
    line and follows a table row after exactly ONE blank line continues that row's last cell (a
    cell containing a blank line, "产出指标\\n\\n(50分)"), so it extends that row.
    """
    groups: list[tuple[int, int, int]] = []  # start, stop, blank lines before
    i, blanks = 0, 0
    while i < len(lines):
        if _blank(lines[i]):
            blanks += 1
            i += 1
            continue
        start = i
        while i < len(lines) and not _blank(lines[i]):
            i += 1
        groups.append((start, i, blanks))
        blanks = 0
    rows: list[tuple[int, int]] = []
    previous_is_row = False
    for start, stop, before in groups:
        has_tab = any(line.startswith("\t") for line in lines[start:stop])
        continues = (
            previous_is_row and before == 1 and has_tab and not lines[start].startswith("\t")
        )
        if continues:
            rows[-1] = (rows[-1][0], stop)
        elif has_tab:
            rows.append((start, stop))
        previous_is_row = has_tab
    return rows


def count_table_rows(text: str) -> int:
    return len(row_ranges(text.split("\n")))


def split_cells(lines: list[str]) -> list[list[str]]:
    """The lines of a row grouped per cell: each cell starts at a tab line."""
    cells: list[list[str]] = []
    for line in lines:
        if line.startswith("\t") or not cells:
            cells.append([line])
        else:
            cells[-1].append(line)
    return cells


def swap_indicator_columns(text: str, table_title: str, first: str, second: str) -> str:
    """Swap two indicator columns (header cells and data cells) of one table.

    When 分值 and 得分 swap, so do the two figures of the merged 总分 row below them.
    """
    lines = text.split("\n")
    title_at = next(i for i, line in enumerate(lines) if line.strip() == table_title)
    ranges = [r for r in row_ranges(lines) if r[0] > title_at]
    header_at = next(
        k for k, (a, b) in enumerate(ranges) if any(x == "\t一级指标" for x in lines[a:b])
    )
    total_at = next(k for k, (a, b) in enumerate(ranges) if k > header_at and lines[a] == "\t总分")
    header = [
        normalize_text(c[0][1:] + "".join(c[1:]))
        for c in split_cells(lines[ranges[header_at][0] : ranges[header_at][1]])
    ]
    i, j = header.index(first), header.index(second)
    for k in range(total_at, header_at - 1, -1):
        a, b = ranges[k]
        cells = split_cells(lines[a:b])
        if k == total_at:
            if {first, second} != {"分值", "得分"}:
                continue
            x, y = 1, 2  # merged total row: 总分 | 分值 | 得分
        else:  # merged cells at the left: align the row on its right edge
            x, y = i + len(cells) - len(header), j + len(cells) - len(header)
        cells[x], cells[y] = cells[y], cells[x]
        lines[a:b] = [line for cell in cells for line in cell]
    return "\n".join(lines)


def all_cells(docs: ImportedDocuments) -> Iterator[Cell]:
    if docs.basic_data:
        for block in docs.basic_data.blocks:
            for row in block.rows:
                yield from row.cells
    tables = [docs.department_table] if docs.department_table else []
    for table in [*tables, *docs.project_tables]:
        yield from table.header.values()
        for funding in table.funding:
            yield from funding.cells.values()
        yield from (split.amount for split in table.splits)
        for cell in (table.goal_expected, table.goal_actual, table.total_points, table.total_score):
            if cell is not None:
                yield cell
        for ind in table.indicators:
            yield from (ind.target, ind.actual, ind.points, ind.score, ind.deviation)


# --- helpers ------------------------------------------------------------------------------


def test_parse_number() -> None:
    assert parse_number("92.86%") == (Decimal("92.86"), True)
    assert parse_number("562.23\u3000\u3000") == (Decimal("562.23"), False)
    assert parse_number("1,157.5") == (Decimal("1157.5"), False)
    assert parse_number("\u3000１２３") == (Decimal("123"), False)
    for none in ("——", "—", "/", "不适用", "", "\u3000", "≥90%", "150亿元", "1,2345", "1.2.3"):
        assert parse_number(none) == (None, False), none
    number, _ = parse_number("2.70")
    assert isinstance(number, Decimal)
    assert str(number) == "2.70"


def test_normalize_text() -> None:
    assert normalize_text("年度预\n算申请\n（万元）") == "年度预算申请(万元)"
    assert normalize_text("\u3000 岳阳市科学技术局本级\u3000") == "岳阳市科学技术局本级"
    assert normalize_text("产出指标\n\n(50分)") == "产出指标(50分)"
    assert normalize_text("") == ""


def test_layout_loads_and_is_strict(tmp_path: Path, layout: TextLayout) -> None:
    assert load_layout(LAYOUT) == layout
    assert layout.report.max_heading_length == 40
    with pytest.raises(ValidationError):
        layout.version = "x"
    text = LAYOUT.read_text(encoding="utf-8")
    extra = tmp_path / "extra.toml"
    extra.write_text(text.replace("[tables]\n", "[tables]\nunknown_key = 1\n"), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_layout(extra)
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("date_pattern = '", "date_pattern = '(", 1), encoding="utf-8")
    with pytest.raises(ValidationError):
        load_layout(bad)


# --- the seed: counts -----------------------------------------------------------------------


def test_rows_read_counts_every_table_row(seed_text: str, docs: ImportedDocuments) -> None:
    assert docs.rows_read == count_table_rows(seed_text)
    # basic data 26, department 23, project 22, rubric (附件5) 10
    assert docs.rows_read == 81


def test_seed_counts(docs: ImportedDocuments) -> None:
    basic = docs.basic_data
    assert basic is not None
    assert [len(block.rows) for block in basic.blocks] == [1, 20, 2]
    assert sum(len(block.rows) for block in basic.blocks) == 23
    dept = docs.department_table
    assert dept is not None
    assert len(dept.indicators) == 10
    assert len(dept.funding) == 1
    assert [s.side for s in dept.splits].count("income") == 4
    assert [s.side for s in dept.splits].count("spending") == 2
    assert len(docs.project_tables) == 1
    project = docs.project_tables[0]
    assert len(project.indicators) == 11
    assert len(project.funding) == 4
    assert project.splits == []
    assert docs.report is not None
    assert len(docs.report.sections) == 22
    assert [s.level for s in docs.report.sections].count(1) == 9
    assert [s.level for s in docs.report.sections].count(2) == 13


def test_rubric_is_one_warning_and_lines_are_kept(docs: ImportedDocuments) -> None:
    codes = [w.code for w in docs.warnings]
    assert codes.count("IMPORT_RUBRIC_TABLE_IGNORED") == 1
    rubric = next(w for w in docs.warnings if w.code == "IMPORT_RUBRIC_TABLE_IGNORED")
    assert rubric.location.line == 614
    assert "考核评分表" in rubric.text
    assert "IMPORT_ROW_UNPLACED" not in codes
    unplaced = [
        (w.location.line, w.text) for w in docs.warnings if w.code == "IMPORT_LINE_UNPLACED"
    ]
    assert [line for line, _ in unplaced] == [546, 547, 548]
    assert unplaced[0][1].startswith("备注")
    assert unplaced[1][1] == "部门(单位)名称:岳阳市科学技术局"
    assert unplaced[2][1] == "2024年 6月28日"


def test_every_cell_has_a_location_and_no_float(docs: ImportedDocuments) -> None:
    cells = list(all_cells(docs))
    assert len(cells) > 150
    for cell in cells:
        assert cell.location.document == DOC
        assert cell.location.line is not None
        assert cell.location.table
        assert cell.number is None or isinstance(cell.number, Decimal)


def test_deterministic(seed_text: str, docs: ImportedDocuments) -> None:
    assert run(seed_text) == docs


# --- the seed: values with their locations ----------------------------------------------------


def test_basic_data_values(docs: ImportedDocuments) -> None:
    basic = docs.basic_data
    assert basic is not None
    assert basic.title == "2023年度部门整体支出绩效评价基础数据表"
    staff, money, buildings = basic.blocks
    assert staff.columns == ["编制数", "2023年实际在职人数", "控制率"]
    ratio = staff.rows[0].cells[2]
    assert staff.rows[0].label == ""
    assert (ratio.number, ratio.percent, ratio.text) == (Decimal("92.86"), True, "92.86%")
    assert (ratio.location.line, ratio.location.column) == (11, "控制率")
    assert ratio.location.table == basic.title

    assert money.title == "经费控制情况(万元)"
    assert money.columns == ["2022年决算数", "2023年预算数", "2023年决算数"]
    rows = {row.name: row for row in money.rows}
    sangong = rows["三公经费"]
    assert [c.number for c in sangong.cells] == [Decimal("5.38"), Decimal("23"), Decimal("4.66")]
    assert [c.location.line for c in sangong.cells] == [19, 20, 21]
    assert [c.location.column for c in sangong.cells] == money.columns

    car = rows["公务用车购置和维护经费"]
    assert (car.number, car.indent, car.qizhong) == ("1", 3, False)
    assert rows["公车购置"].qizhong
    assert rows["公车购置"].label == "其中:公车购置"
    running = rows["公车运行维护"]
    assert running.qizhong
    assert running.indent == 13
    assert running.cells[0].text == ""
    assert running.cells[0].location.line == 34
    assert rows["办公经费"].qizhong
    assert rows["水费、电费、差旅费"].qizhong
    assert rows["会议费、培训费"].qizhong
    assert not rows["科技交流与合作"].qizhong
    assert not rows["出国经费"].qizhong
    special = rows["市级专项资金(一个专项一行)"]
    assert special.number == "3"
    assert rows["项目支出"].label == "项目支出:"
    assert rows["政府采购金额"].cells[0].number is None

    assert len(buildings.columns) == 6
    assert [c.number for c in buildings.rows[0].cells] == [Decimal(0)] * 6
    text_row = buildings.rows[1]
    assert text_row.name == "厉行节约保障措施"
    assert len(text_row.cells) == 1
    assert text_row.cells[0].text.startswith("严格控制三公经费")
    assert text_row.cells[0].location.line == 137

    assert len(basic.notes) == 1
    assert basic.notes[0].startswith("说明:")


def test_department_table_values(docs: ImportedDocuments) -> None:
    dept = docs.department_table
    assert dept is not None
    assert dept.kind == "department"
    assert dept.name == "岳阳市科学技术局本级"
    assert dept.title == "2023年度部门整体支出绩效自评表"
    name = dept.header["市级预算部门名称"]
    assert (name.text, name.location.line) == ("岳阳市科学技术局本级", 145)
    assert dept.funding_columns == [
        "年初预算数",
        "全年预算数",
        "全年执行数",
        "分值",
        "执行率",
        "得分",
    ]
    total = dept.funding[0]
    assert total.label == "年度资金总额"
    spent = total.cells["全年执行数"]
    assert (spent.number, spent.location.line, spent.location.column) == (
        Decimal("1119.56"),
        162,
        "全年执行数",
    )
    assert total.cells["年初预算数"].number == Decimal("622.3")
    assert total.cells["执行率"].number == Decimal("96.72")
    assert total.cells["执行率"].percent

    splits = {(s.side, s.label): s.amount for s in dept.splits}
    assert splits["income", "一般公共预算"].number == Decimal("1152.28")
    assert splits["income", "一般公共预算"].location.line == 172
    assert splits["spending", "基本支出"].number == Decimal("708.28")
    assert splits["spending", "项目支出"].number == Decimal("411.28")
    assert splits["income", "其他资金"].number == Decimal("5.22")
    assert splits["income", "纳入专户管理的非税收入拨款"].number == Decimal(0)

    assert dept.goal_expected is not None
    assert dept.goal_actual is not None
    assert dept.goal_expected.text.startswith("围绕大力实施")
    assert "任务3:大力推动科技成果转化" in dept.goal_expected.text  # a multi-line cell
    assert dept.goal_expected.location.line == 192
    assert dept.goal_actual.text.startswith("一是科技创新攻坚不断加力")
    assert dept.goal_actual.location.line == 196

    assert dept.total_points is not None
    assert dept.total_score is not None
    assert (dept.total_points.number, dept.total_points.location.line) == (Decimal(100), 323)
    assert (dept.total_score.number, dept.total_score.location.line) == (Decimal("99.67"), 324)


def _by_level3(table: SelfEvalTable) -> dict[str, list[IndicatorRow]]:
    found: dict[str, list[IndicatorRow]] = {}
    for row in table.indicators:
        found.setdefault(row.level3, []).append(row)
    return found


@pytest.mark.parametrize(
    ("which", "row_line", "target_line"), [("department", 268, 272), ("project", 485, 489)]
)
def test_indicator_rows(
    docs: ImportedDocuments, which: str, row_line: int, target_line: int
) -> None:
    table = docs.department_table if which == "department" else docs.project_tables[0]
    assert table is not None
    weights = {row.level1: row.level1_points for row in table.indicators}
    assert weights == {"产出指标": Decimal(50), "效益指标": Decimal(30), "满意度指标": Decimal(10)}
    first = table.indicators[0]
    assert (first.level1, first.level2, first.level3) == (
        "产出指标",
        "数量指标",
        "组建科技创新平台",
    )
    assert first.points.number == Decimal(15)
    # 二级 "经济效\n益指标" is merged down to the 技术合同成交额 row
    contract = _by_level3(table)["技术合同成交额"][0]
    assert (contract.level1, contract.level2) == ("效益指标", "经济效益指标")
    assert contract.location.line == row_line
    assert contract.target.location.line == target_line
    assert contract.target.location.column == "年度指标值"
    not_applicable = _by_level3(table)["不适用"][0]
    assert not_applicable.level2 == "生态效益指标"
    assert not_applicable.points.text == "—"
    assert not_applicable.points.number is None
    last = table.indicators[-1]
    assert (last.level1, last.level2, last.level3) == (
        "满意度指标",
        "服务对象满意度指标",
        "群众满意率",
    )
    assert last.target.text == "群众满意率>90%"


def test_project_table_values(docs: ImportedDocuments) -> None:
    project = docs.project_tables[0]
    assert project.kind == "project"
    assert project.name == "业务工作经费"
    assert project.location.table == "项目支出绩效自评表[业务工作经费]"
    assert project.header["项目支出名称"].text == "业务工作经费"
    supervisor = project.header["主管部门"]
    assert (supervisor.text, supervisor.location.line) == ("", 343)
    assert project.header["实施单位"].text == "岳阳市科学技术局"
    labels = [row.label for row in project.funding]
    assert labels == ["年度资金总额", "其中:当年财政拨款", "上年结转资金", "其他资金"]
    grant = project.funding[1].cells["分值"]
    # a real mistake in the seed (30 instead of an empty 分值): kept as read
    assert (grant.number, grant.location.line) == (Decimal(30), 374)
    assert grant.location.table == "项目支出绩效自评表[业务工作经费]"
    assert project.funding[0].cells["执行率"].number == Decimal(100)
    rate = _by_level3(project)["全社会研发投入增速"][0]
    assert (rate.target.number, rate.target.percent) == (Decimal(6), True)
    assert (rate.actual.number, rate.actual.percent) == (Decimal("7.8"), True)
    assert project.goal_expected is not None
    assert project.goal_expected.location.line == 401
    assert project.total_score is not None
    assert project.total_score.number == Decimal(100)


def test_report_sections(docs: ImportedDocuments) -> None:
    report = docs.report
    assert report is not None
    assert report.title == "2023年度岳阳市科学技术局部门整体支出绩效自评报告"
    assert report.location.line == 551
    sections = report.sections
    heads = [(s.numbering, s.title, s.level) for s in sections]
    assert heads[0] == ("1、", "部门(单位)基本情况", 1)
    assert heads[1] == ("(一)", "主要职责", 2)
    assert ("（1）", "基本支出情况", 2) in heads
    assert ("六、", "部门整体支出绩效情况", 1) in heads
    assert ("8、", "下一步改进措施", 1) in heads
    assert ("（2）", "人员专业素养有待进一步提高", 2) in heads
    assert heads[-1] == (
        "九、",
        "部门整体支出绩效自评结果拟应用和公开情况其他需要说明的情况",
        1,
    )
    titles = [s.title for s in sections]
    assert "存在的问题及原因分析" in titles
    # numbered paragraphs are text, not headings
    duties = sections[1]
    assert duties.text.startswith("1.负责全市科学技术进步的宏观管理和统筹协调。")
    assert duties.text.count("\n") == 13
    assert duties.location.line == 555
    assert duties.location.section == "主要职责"
    # the report ends at the 附件5 rubric
    assert sections[-1].text == "无。"
    assert sections[-1].location.line == 611


# --- mutations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after_line", "table"),
    [(145, "2023年度部门整体支出绩效自评表"), (542, "项目支出绩效自评表[业务工作经费]")],
)
def test_unknown_row_is_a_warning(seed_text: str, after_line: int, table: str) -> None:
    lines = seed_text.split("\n")
    # a row of two cells, inserted after line `after_line` (the last line of a row)
    lines[after_line:after_line] = ["", "\t神秘字段", "\t某值"]
    docs = run("\n".join(lines))
    assert docs.rows_read == 82
    unplaced = [w for w in docs.warnings if w.code == "IMPORT_ROW_UNPLACED"]
    assert len(unplaced) == 1
    assert unplaced[0].text == "神秘字段 | 某值"
    assert unplaced[0].location.line == after_line + 2
    assert unplaced[0].location.table == table
    # the rest of the table is read as before
    assert docs.department_table is not None
    assert len(docs.department_table.funding) == 1
    assert len(docs.project_tables[0].indicators) == 11


def _indicator_values(table: SelfEvalTable) -> list[tuple[object, ...]]:
    def cell(c: Cell) -> tuple[object, ...]:
        return (c.text, c.number, c.percent, c.location.column)

    return [
        (
            r.level1,
            r.level1_points,
            r.level2,
            r.level3,
            *(cell(c) for c in (r.target, r.actual, r.points, r.score, r.deviation)),
        )
        for r in table.indicators
    ]


@pytest.mark.parametrize(
    ("title", "first", "second"),
    [
        ("2023年度部门整体支出绩效自评表", "分值", "得分"),
        ("2023年度部门整体支出绩效自评表", "三级指标", "偏差原因分析及改进措施"),
        ("2023年度项目支出绩效自评表", "年度指标值", "实际完成值"),
        ("2023年度项目支出绩效自评表", "二级指标", "得分"),
    ],
)
def test_swapped_columns_land_in_the_same_fields(
    seed_text: str, docs: ImportedDocuments, title: str, first: str, second: str
) -> None:
    swapped = run(swap_indicator_columns(seed_text, title, first, second))
    assert swapped.rows_read == docs.rows_read
    assert not [w for w in swapped.warnings if w.code == "IMPORT_ROW_UNPLACED"]
    pairs = [(docs.department_table, swapped.department_table)]
    pairs.append((docs.project_tables[0], swapped.project_tables[0]))
    for before, after in pairs:
        assert before is not None
        assert after is not None
        assert _indicator_values(after) == _indicator_values(before)
        assert after.total_points is not None
        assert before.total_points is not None
        assert after.total_points.number == before.total_points.number
        assert after.total_score is not None
        assert before.total_score is not None
        assert after.total_score.number == before.total_score.number


def test_removed_report_section(seed_text: str, docs: ImportedDocuments) -> None:
    lines = seed_text.split("\n")
    assert lines[594].startswith("（三）专项资金管理情况")  # line 595 and its text, line 596
    del lines[594:596]
    shorter = run("\n".join(lines))
    assert shorter.report is not None
    assert docs.report is not None
    assert len(shorter.report.sections) == len(docs.report.sections) - 1
    assert "专项资金管理情况" not in [s.title for s in shorter.report.sections]
    assert shorter.rows_read == docs.rows_read


def test_extra_cell_is_a_warning(seed_text: str) -> None:
    lines = seed_text.split("\n")
    assert lines[20] == "\t4.66\u3000"  # line 21: last cell of the 三公经费 row
    lines[21:21] = ["\t9.99"]
    docs = run("\n".join(lines))
    extra = [w for w in docs.warnings if w.code == "IMPORT_ROW_EXTRA_CELLS"]
    assert len(extra) == 1
    assert (extra[0].text, extra[0].location.line, extra[0].location.row) == (
        "9.99",
        22,
        "三公经费",
    )
    assert docs.basic_data is not None
    row = docs.basic_data.blocks[1].rows[0]
    assert [c.text for c in row.cells] == ["5.38", "23", "4.66"]


def test_crlf_and_bom(seed_text: str, docs: ImportedDocuments) -> None:
    assert run("\ufeff" + seed_text.replace("\n", "\r\n")) == docs


def test_rubric_notes_go_with_the_rubric(seed_text: str) -> None:
    docs = run(seed_text.rstrip("\n") + "\n\n注：本表由市财政局填写。\n")
    assert "IMPORT_LINE_UNPLACED" not in [
        w.code for w in docs.warnings if (w.location.line or 0) > 600
    ]
    rubric = [w for w in docs.warnings if w.code == "IMPORT_RUBRIC_TABLE_IGNORED"]
    assert len(rubric) == 1
    assert "1 lines after it" in rubric[0].message


def test_report_without_tables(seed_text: str) -> None:
    lines = seed_text.split("\n")
    docs = run("\n".join(lines[550:613]))
    assert docs.rows_read == 0
    assert docs.basic_data is None
    assert docs.department_table is None
    assert docs.report is not None
    assert len(docs.report.sections) == 22


# --- robustness ------------------------------------------------------------------------------

_FRAGMENTS = [
    "\t",
    "\n",
    "\n\n",
    "\n\n\n",
    "\u3000",
    " ",
    "总分",
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值",
    "实际完成值",
    "分值",
    "得分",
    "偏差原因",
    "年初预算数",
    "全年预算数",
    "全年执行数",
    "执行率",
    "年度资金总额",
    "按收入性质分：",
    "按支出性质分：",
    "其中：",
    "：",
    "年度总体目标",
    "预期目标",
    "实际完成情况",
    "市级预算部门名称",
    "项目支出名称",
    "主管部门",
    "基础数据表",
    "部门整体支出绩效自评表",
    "项目支出绩效自评表",
    "考核评分表",
    "附件5",
    "财政供养人员情况",
    "经费控制情况",
    "绩效自评报告",
    "一、",
    "（一）",
    "(1)",
    "1.",
    "1、",
    "说明：",
    "备注：",
    "部门（单位）名称：",
    "2024年6月28日",
    "(50分)",
    "92.86%",
    "1,157.5",
    "——",
    "不适用",
    "。",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8)), max_size=80))
def test_import_never_raises(parts: list[str]) -> None:
    docs = run("".join(parts))
    assert docs.rows_read >= 0
    for warning in docs.warnings:
        assert warning.location.document == DOC


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_seed_with_lines_dropped_never_raises(data: st.DataObject) -> None:
    lines = SEED.read_text(encoding="utf-8").split("\n")
    dropped = data.draw(st.sets(st.integers(0, len(lines) - 1), max_size=40))
    docs = run("\n".join(line for i, line in enumerate(lines) if i not in dropped))
    assert docs.rows_read <= 81 + len(dropped)
