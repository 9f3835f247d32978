"""Awkward Word and Excel files: each imports to the seed's model or yields the expected warning."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from documents_support import FIXTURES, imported, model_of, score, seed_model, strip_locations

from engine.model import Package
from engine.model.package import Dossier


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("word/document.xml").decode()


def test_table_inside_a_content_control() -> None:
    path = FIXTURES / "variant-content-control.docx"
    import docx

    # python-docx does not see the table inside the w:sdt; the importer does.
    assert len(docx.Document(str(path)).tables) == 3
    assert "<w:sdtContent><w:tbl>" in _xml(path)
    docs = imported(path)
    assert docs.department_table is not None
    assert model_of(docs) == seed_model()


def test_tracked_insertion_is_read_and_deletion_left_out() -> None:
    path = FIXTURES / "variant-tracked.docx"
    xml = _xml(path)
    assert "<w:ins " in xml
    assert "<w:delText>（草稿）</w:delText>" in xml
    docs = imported(path)
    assert docs.department_table is not None
    assert docs.department_table.name == "岳阳市科学技术局本级"
    assert model_of(docs) == seed_model()


@pytest.mark.parametrize("name", ["variant-headers.docx", "variant-headers.xlsx"])
def test_blank_and_repeated_header_rows(name: str) -> None:
    docs = imported(FIXTURES / name)
    seed = imported(FIXTURES.parents[2] / "examples" / "yueyang-kjj-2023" / "package.txt")
    # Two more rows per self-evaluation table and one in the basic data table were read...
    assert docs.rows_read == seed.rows_read + 5
    # ... and skipped: the same indicators, blocks and warnings.
    assert model_of(docs) == seed_model()


def test_columns_in_a_different_order() -> None:
    path = FIXTURES / "variant-columns.xlsx"
    docs = imported(path)
    assert docs.department_table is not None
    header_cells = [
        row
        for row in _sheet_rows(path, "部门整体支出自评表")
        if "一级指标" in row and "三级指标" in row
    ]
    assert header_cells
    assert header_cells[0].index("实际完成值") < header_cells[0].index("年度指标值")
    assert model_of(docs) == seed_model()


def _sheet_rows(path: Path, sheet: str) -> list[list[str]]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return [
        [str(v) for v in row if v is not None] for row in book[sheet].iter_rows(values_only=True)
    ]


def test_report_with_mixed_numbering() -> None:
    docs = imported(FIXTURES / "variant-numbering.docx")
    assert docs.report is not None
    numbering = {s.numbering for s in docs.report.sections}
    assert {"一、", "2、", "第三部分", "四.", "", "（一）", "(2)"} <= numbering
    # An unnumbered heading styled Heading 1 is still a level-1 section.
    plain = next(s for s in docs.report.sections if s.title == "社会保险基金预算支出情况")
    assert (plain.numbering, plain.level) == ("", 1)
    # Apart from the numbering, the same sections with the same text.
    assert model_of(docs, ("numbering",)) == strip_locations(seed_model(), ("numbering",))


def test_report_with_mixed_numbering_scores_the_same() -> None:
    docs = imported(FIXTURES / "variant-numbering.docx")
    seed = imported(FIXTURES.parents[2] / "examples" / "yueyang-kjj-2023" / "package.txt")
    dossier = Dossier(department="岳阳市科学技术局", fiscal_year=2023)

    def package(d: object) -> Package:
        return Package(
            dossier=dossier,
            basic_data=d.basic_data,  # type: ignore[attr-defined]
            department_table=d.department_table,  # type: ignore[attr-defined]
            project_tables=d.project_tables,  # type: ignore[attr-defined]
            report=d.report,  # type: ignore[attr-defined]
        )

    a, b = score(package(docs)), score(package(seed))
    # Evidence shows the heading as written, so compare scores and deductions by rule.
    assert a["total"] == b["total"]
    assert [(d["rule"], d["points"]) for i in a["items"] for d in i["deductions"]] == [
        (d["rule"], d["points"]) for i in b["items"] for d in i["deductions"]
    ]


def test_stray_cells_become_warnings_with_their_place() -> None:
    docs = imported(FIXTURES / "variant-stray.xlsx")
    assert docs.department_table is not None
    extra = [w for w in docs.warnings if w.code in ("IMPORT_ROW_UNPLACED", "IMPORT_TABLE_UNPLACED")]
    places = {(w.code, w.location.document, w.text) for w in extra}
    assert (
        "IMPORT_ROW_UNPLACED",
        "variant-stray.xlsx:部门整体支出自评表!5:5",
        "手工备注 | 请财务科核对",
    ) in places
    assert ("IMPORT_TABLE_UNPLACED", "variant-stray.xlsx:草稿!A1:C2", "") in places
    assert ("IMPORT_ROW_UNPLACED", "variant-stray.xlsx:草稿!2:2", "1 | 整理凭证 | 张三") in places
    # Everything else is the seed's.
    kept = [w for w in model_of(docs)["warnings"] if w["text"] not in {t for _, _, t in places}]
    assert model_of(docs) | {"warnings": kept} == seed_model()


def test_word_table_with_its_title_in_the_first_row(tmp_path: Path) -> None:
    """Excel and Word forms often carry the title inside the table; that row is the title."""
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "2023年度项目支出绩效自评表"
    table.cell(1, 0).text = "项目支出名称"
    table.cell(1, 1).text = "业务工作经费"
    table.cell(2, 0).text = "主管部门"
    table.cell(2, 1).text = "岳阳市科学技术局"
    path = tmp_path / "t.docx"
    document.save(str(path))
    docs = imported(path)
    assert [t.name for t in docs.project_tables] == ["业务工作经费"]
    assert docs.project_tables[0].title == "2023年度项目支出绩效自评表"
