"""The exported score sheets (.xlsx, .docx, .pdf) carry every deduction, finding and adjustment
of the JSON report, in Chinese that survives the round trip."""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from documents_support import report_of, rubric

from engine.adjust import Adjustment, allowed_bands, apply_adjustment
from engine.evaluate.run import render_json
from engine.export import ExportError, export_sheet, sheet_bytes
from engine.export._sheet import points


@cache
def adjusted_report() -> dict[str, Any]:
    """The seed's report (from the Word rendition) with one reviewer adjustment."""
    report = report_of("dossier-docx.toml")
    band = next(
        b for b in allowed_bands(rubric(), "problems.quality") if b["id"] == "problems.fair"
    )
    low = band["range"][0]
    return apply_adjustment(
        report,
        rubric(),
        Adjustment(
            clause="problems.quality",
            score=Decimal(low),
            reason="问题归纳较全面，原因分析具体到科目",
            actor="李复核",
            at="2024-07-01T10:00:00+08:00",
        ),
    )


def expected(report: dict[str, Any]) -> dict[str, list[str]]:
    """The strings each export must contain: deductions (rule id + points), findings (rule id +
    message), adjustments (who, why, score) and the Chinese header."""
    deductions = [
        f"−{points(d['points'])} 分 [{d['rule']}]"
        for item in report["items"]
        for d in item["deductions"]
    ]
    findings = [f["rule"] for f in report["findings"]] + [f["message"] for f in report["findings"]]
    adjustments = [
        text
        for item in report["items"]
        for adj in item["assessment"].get("adjustments", [])
        for text in (adj["actor"], adj["reason"], adj["clause"])
    ]
    header = [
        report["package"]["department"],
        report["rubric"]["sha256"],
        report["decision_id"],
        "评分人",
        "复核人",
        "日期",
        "被评单位",
    ]
    return {
        "deductions": deductions,
        "findings": findings,
        "adjustments": adjustments,
        "header": header,
    }


def _flat(text: str) -> str:
    """Text with all whitespace removed: PDF text extraction breaks lines anywhere."""
    return re.sub(r"\s+", "", text)


def assert_contains(text: str, report: dict[str, Any]) -> None:
    flat = _flat(text)
    missing = [
        (kind, want)
        for kind, wants in expected(report).items()
        for want in wants
        if _flat(want) not in flat
    ]
    assert not missing, missing[:5]


def test_report_has_what_the_sheets_must_show() -> None:
    report = adjusted_report()
    wants = expected(report)
    assert len(wants["deductions"]) >= 5
    assert wants["findings"]
    assert wants["adjustments"]


def test_xlsx(tmp_path: Path) -> None:
    import openpyxl

    report = adjusted_report()
    path = tmp_path / "sheet.xlsx"
    export_sheet(report, path)
    book = openpyxl.load_workbook(path)
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not (isinstance(value, str) and value.startswith("=")), "formula found"
                if value is not None:
                    texts.append(str(value))
    assert_contains("\n".join(texts), report)
    main = book["评分表"]
    assert main.page_setup.orientation == "landscape"
    assert int(main.page_setup.paperSize) == 9  # A4 in the paperSize codes
    assert main.sheet_properties.pageSetUpPr.fitToPage
    assert main.page_setup.fitToWidth == 1
    assert main.print_title_rows
    assert re.fullmatch(r"\$?(\d+):\$?\1", main.print_title_rows)
    header_row = int(main.print_title_rows.split(":")[0].lstrip("$"))
    assert main.cell(header_row, 1).value == "一级指标"
    # Scores are numbers, not text, and add up to the total.
    scores = [
        main.cell(r, 6).value for r in range(header_row + 1, header_row + 1 + len(report["items"]))
    ]
    assert all(isinstance(s, Decimal | float | int) for s in scores)
    assert sum(Decimal(str(s)) for s in scores) == Decimal(str(report["total"]["score"]))


def test_docx(tmp_path: Path) -> None:
    import docx
    from docx.oxml.ns import qn

    report = adjusted_report()
    path = tmp_path / "sheet.docx"
    export_sheet(report, path)
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            texts += [cell.text for cell in row.cells]
    assert_contains("\n".join(texts), report)
    normal = document.styles["Normal"].element
    fonts = normal.rPr.find(qn("w:rFonts"))
    assert fonts is not None
    assert fonts.get(qn("w:eastAsia")) == "宋体"
    section = document.sections[0]
    assert section.page_width > section.page_height  # landscape
    items = next(t for t in document.tables if t.rows[0].cells[0].text == "一级指标")
    assert items.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_pdf_text_and_glyphs(tmp_path: Path) -> None:
    import pypdf
    import pypdfium2

    report = adjusted_report()
    path = tmp_path / "sheet.pdf"
    export_sheet(report, path)
    reader = pypdf.PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert_contains(text, report)
    assert "部门整体支出绩效自评工作考核评分表" in text
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert width > height  # A4 landscape
    assert round(float(width)) == 842
    assert round(float(height)) == 595
    # Render the first page: the title's glyphs must be ink, not empty boxes or nothing.
    pdf = pypdfium2.PdfDocument(str(path))
    image = pdf[0].render(scale=1.5).to_pil().convert("L")
    (tmp_path / "page1.png").write_bytes(_png(image))
    ink = sum(image.histogram()[:128])
    assert ink / (image.width * image.height) > 0.01
    # The title line (top 8 % of the page) carries Chinese glyphs: many dark pixels, spread out.
    top = image.crop((0, 0, image.width, int(image.height * 0.08)))
    dark_columns = {
        x for x in range(top.width) for y in range(top.height) if top.getpixel((x, y)) < 128
    }
    assert len(dark_columns) > top.width * 0.2
    fonts = {
        str(font.get("/BaseFont", ""))
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
        for font in [font.get_object()]
    }
    assert any("WenQuanYi" in font or "Micro" in font or "CJK" in font for font in fonts), fonts


def _png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_json_report_exports_like_the_decimal_report() -> None:
    """The HTTP layer holds reports as JSON: the sheet is the same."""
    report = adjusted_report()
    again = json.loads(render_json(report))
    from engine.export import build_sheet

    assert build_sheet(again) == build_sheet(report)


def test_sheet_bytes_formats() -> None:
    report = report_of("dossier.toml")
    data = sheet_bytes(report, "xlsx")
    assert zipfile.is_zipfile(io.BytesIO(data))
    assert sheet_bytes(report, "docx")[:2] == b"PK"
    with pytest.raises(ValueError, match="unknown sheet format"):
        sheet_bytes(report, "odt")


def test_export_sheet_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sheet format"):
        export_sheet(report_of("dossier.toml"), tmp_path / "sheet.csv")
    assert not list(tmp_path.iterdir())


def test_pdf_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JIXIAO_CJK_FONT", str(tmp_path / "missing.ttc"))
    with pytest.raises(ExportError, match="fonts-wqy-microhei"):
        sheet_bytes(report_of("dossier.toml"), "pdf")
