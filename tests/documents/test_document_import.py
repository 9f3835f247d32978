"""Word and Excel renditions of the seed package import and score like its text rendition."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest
from documents_support import (
    EXAMPLE,
    FIXTURES,
    imported,
    model_of,
    report_of,
    rubric,
    seed_model,
    strip_locations,
)

from engine.importers.dispatch import SUPPORTED, import_document
from engine.importers.sheets import show_value

RENDITIONS = ["dossier-docx.toml", "dossier-xlsx.toml"]


@pytest.mark.parametrize("manifest", RENDITIONS)
def test_manifest_matches_the_text_dossier(manifest: str) -> None:
    """The Word/Excel dossiers differ from dossier.toml only in their documents."""
    text = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    other = tomllib.loads((EXAMPLE / manifest).read_text("utf-8"))
    assert other.pop("documents") != text.pop("documents")
    assert other == text, f"{manifest} drifted from dossier.toml: copy the change over"


@pytest.mark.parametrize("manifest", RENDITIONS)
def test_renditions_score_identically(manifest: str) -> None:
    text = report_of("dossier.toml")
    other = report_of(manifest)
    assert strip_locations(other) == strip_locations(text)
    assert other["total"] == text["total"]
    suffix = manifest.removeprefix("dossier-").removesuffix(".toml")
    # ... and the locations do point into the Word/Excel file.
    located = [w["location"] for w in other["warnings"]]
    assert located
    assert all(loc.startswith(f"package.{suffix}:") for loc in located)
    evidence = [
        e["location"] for item in other["items"] for d in item["deductions"] for e in d["evidence"]
    ]
    assert evidence
    assert all(loc.startswith((f"package.{suffix}:", "dossier.toml")) for loc in evidence)


@pytest.mark.parametrize(
    "path",
    [EXAMPLE / "package.docx", EXAMPLE / "package.xlsx", FIXTURES / "package.xls"],
    ids=lambda p: Path(p).name,
)
def test_renditions_import_to_the_seed_model(path: Path) -> None:
    assert model_of(imported(path)) == seed_model()


def test_docx_locations_name_table_row_column_and_paragraph() -> None:
    docs = imported(EXAMPLE / "package.docx")
    table = docs.department_table
    assert table is not None
    total = next(row for row in table.funding if row.label == "年度资金总额")
    executed = total.cells["全年执行数"]
    assert executed.text == "1119.56"
    assert executed.location.document == "package.docx:表2行3列6"
    assert executed.location.render().startswith(
        "package.docx:表2行3列6 2023年度部门整体支出绩效自评表"
    )
    assert docs.report is not None
    problems = next(s for s in docs.report.sections if s.title.startswith("存在的问题"))
    assert problems.location.document.startswith("package.docx:段")


def test_xlsx_locations_are_sheet_references() -> None:
    docs = imported(EXAMPLE / "package.xlsx")
    table = docs.department_table
    assert table is not None
    total = next(row for row in table.funding if row.label == "年度资金总额")
    rate = total.cells["执行率"]
    assert (rate.text, rate.number, rate.percent) == ("96.72%", rate.number, True)
    assert rate.location.document == "package.xlsx:部门整体支出自评表!H4"
    warning = next(w for w in docs.warnings if w.code == "IMPORT_RUBRIC_TABLE_IGNORED")
    assert warning.location.document == "package.xlsx:附件5评分表!A1"


def test_the_xlsx_keeps_figures_as_numbers_with_formats() -> None:
    """The fixture is realistic: figures are numbers, shown through their number formats."""
    import openpyxl

    book = openpyxl.load_workbook(EXAMPLE / "package.xlsx")
    sheet = book["部门整体支出自评表"]
    assert sheet["H4"].value == pytest.approx(0.9672)
    assert sheet["H4"].number_format == "0.00%"
    assert sheet.merged_cells.ranges  # merged cells as in the real form


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (0.9672, "0.00%", "96.72%"),
        (1, "0%", "100%"),
        (2.7, "0.00", "2.70"),
        (1157.5, "General", "1157.5"),
        (1e-05, "General", "0.00001"),
        (30, "General", "30"),
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (True, "General", "TRUE"),
        (None, "General", ""),
    ],
)
def test_excel_values_are_shown_as_excel_shows_them(value: object, fmt: str, shown: str) -> None:
    assert show_value(value, fmt) == shown


def test_dates_show_in_chinese() -> None:
    import datetime as dt

    assert show_value(dt.datetime(2024, 6, 28)) == "2024年6月28日"


def test_docx_fixture_has_real_merged_cells() -> None:
    with zipfile.ZipFile(EXAMPLE / "package.docx") as archive:
        xml = archive.read("word/document.xml").decode()
    assert "<w:gridSpan" in xml
    assert "<w:vMerge" in xml


def test_supported_types() -> None:
    assert SUPPORTED == (".txt", ".docx", ".xlsx", ".xls", ".pdf")


def test_mixed_manifest(tmp_path: Path) -> None:
    """A manifest may list any mix of .txt, .docx and .xlsx files."""
    from documents_support import score

    from engine.dossier import load_package

    # The tables from the workbook, the report from a text file holding only the report.
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    start = text.index("2023年度岳阳市科学技术局部门整体支出\n绩效自评报告")
    end = text.index("附件5")
    (tmp_path / "report.txt").write_text(text[start:end], "utf-8")
    workbook = import_document("package.xlsx", (EXAMPLE / "package.xlsx").read_bytes())
    assert workbook.report is not None
    manifest = (EXAMPLE / "dossier.toml").read_text("utf-8")
    manifest = manifest.replace(
        'documents = ["package.txt"]', 'documents = ["report.txt", "package.xlsx"]'
    )
    (tmp_path / "dossier.toml").write_text(manifest, "utf-8")
    (tmp_path / "package.xlsx").write_bytes((EXAMPLE / "package.xlsx").read_bytes())
    package = load_package(tmp_path / "dossier.toml", rubric().layout)
    assert package.report is not None
    assert package.report.location.document == "report.txt"
    assert package.department_table is not None
    assert package.department_table.location.document.startswith("package.xlsx:")
    assert score(package)["total"] == report_of("dossier.toml")["total"]
