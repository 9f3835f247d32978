"""PDF renditions of the seed package import and score like its text rendition."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from documents_support import (
    AS_OF,
    EXAMPLE,
    imported,
    model_of,
    report_of,
    rubric,
    score,
    seed_model,
    strip_locations,
)

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.importers._grid import Positions
from engine.importers._layout import PdfLayout
from engine.importers._pdfpage import Page, PageCell, PageLine, PageTable, page_items
from engine.importers._scan import BlankLine, FreeLine, RawTable

PDF_RENDITIONS = ["dossier-pdf.toml"]


@pytest.mark.parametrize("manifest", PDF_RENDITIONS)
def test_pdf_manifest_matches_the_text_dossier(manifest: str) -> None:
    text = tomllib.loads((EXAMPLE / "dossier.toml").read_text("utf-8"))
    other = tomllib.loads((EXAMPLE / manifest).read_text("utf-8"))
    assert other.pop("documents") != text.pop("documents")
    assert other == text, f"{manifest} drifted from dossier.toml: copy the change over"


def test_text_pdf_imports_to_the_seed_model() -> None:
    """Tables across pages joined, repeated header rows read once, wrapped cells and
    paragraphs joined, running header and page numbers dropped: the seed's model exactly."""
    assert model_of(imported(EXAMPLE / "package.pdf")) == seed_model()


@pytest.mark.parametrize("backend", ["python", "durable"])
@pytest.mark.parametrize("manifest", PDF_RENDITIONS)
def test_pdf_renditions_score_like_the_text(manifest: str, backend: str) -> None:
    engine = PythonBackend() if backend == "python" else DurableBackend()
    package = load_package(EXAMPLE / manifest, rubric().layout)
    other: dict[str, Any] = Evaluator(engine).evaluate(
        package, rubric(), mode="bureau", as_of=AS_OF
    )
    text = report_of("dossier.toml")
    assert strip_locations(other) == strip_locations(text)
    assert other["total"] == text["total"]
    evidence = [
        e["location"] for item in other["items"] for d in item["deductions"] for e in d["evidence"]
    ]
    assert evidence
    assert all(loc.startswith(("package.pdf:第", "dossier.toml")) for loc in evidence)


def test_pdf_locations_name_page_table_row_column() -> None:
    docs = imported(EXAMPLE / "package.pdf")
    assert docs.department_table is not None
    cell = docs.department_table.funding[0].cells["全年预算数"]
    assert cell.location.document.startswith("package.pdf:第")
    assert "表2行" in cell.location.document
    assert "列" in cell.location.document
    assert docs.report is not None
    assert "行" in docs.report.location.document
    # The department table continues over pages: its later rows name their own page.
    pages = {row.points.location.document.split(" ")[0] for row in docs.department_table.indicators}
    assert len(pages) >= 2


def test_mixed_pdf_tables_and_word_report(tmp_path: Path) -> None:
    """The tables from the PDF, the report from a Word file."""
    text = (EXAMPLE / "package.txt").read_text("utf-8")
    start = text.index("2023年度岳阳市科学技术局部门整体支出\n绩效自评报告")
    end = text.index("附件5")
    (tmp_path / "report.txt").write_text(text[start:end], "utf-8")
    manifest = (EXAMPLE / "dossier.toml").read_text("utf-8")
    manifest = manifest.replace(
        'documents = ["package.txt"]', 'documents = ["report.docx", "tables.pdf"]'
    )
    (tmp_path / "dossier.toml").write_text(manifest, "utf-8")
    (tmp_path / "tables.pdf").write_bytes(_pdf_without_report())
    (tmp_path / "report.docx").write_bytes(_docx_of(text[start:end]))
    package = load_package(tmp_path / "dossier.toml", rubric().layout)
    assert package.report is not None
    assert package.report.location.document.startswith("report.docx:")
    assert package.department_table is not None
    assert package.department_table.location.document.startswith("tables.pdf:")
    assert score(package)["total"] == report_of("dossier.toml")["total"]


def _docx_of(text: str) -> bytes:
    import io

    import docx

    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf_without_report() -> bytes:
    """The seed without its report, printed as the example PDF is."""
    import sys

    sys.path.insert(0, str(EXAMPLE.parents[1] / "scripts"))
    from make_fixtures import seed_items
    from make_pdf_fixtures import build_text_pdf

    items = seed_items()
    title = next(
        i
        for i, item in enumerate(items)
        if isinstance(item, FreeLine) and "绩效自评报告" in item.text
    )
    rubric_at = next(
        i
        for i, item in enumerate(items)
        if isinstance(item, FreeLine) and item.text.startswith("附件5")
    )
    return build_text_pdf(items[: title - 1] + items[rubric_at:])


# --- page assembly on hand-made pages (no PDF needed) -----------------------------------------


def _line(text: str, x0: float, top: float, x1: float) -> PageLine:
    return PageLine(text, x0, top, x1, top + 10)


def _table(top: float, bottom: float, rows: list[list[str]]) -> PageTable:
    cells = [
        [PageCell([t], j, x0=50 + 100 * j, x1=150 + 100 * j) for j, t in enumerate(r)] for r in rows
    ]
    return PageTable(50, top, 350, bottom, [50, 150, 250, 350], cells)


def test_running_headers_and_page_numbers_are_dropped() -> None:
    layout = PdfLayout(page_number_pattern=r"^第\s*[0-9]+\s*页")
    pages = [
        Page(
            n,
            600,
            800,
            lines=[
                _line("某局 自评材料", 200, 20, 400),
                _line(f"正文{n}", 110, 300, 200),
                _line("一行写满的正文", 80, 320, 500),
                _line(f"第 {n} 页", 280, 770, 320),
            ],
        )
        for n in (1, 2)
    ]
    items, _ = page_items(pages, layout, Positions())
    texts = [item.text for item in items if isinstance(item, FreeLine)]
    assert texts == ["正文1", "一行写满的正文", "正文2", "一行写满的正文"]


def test_a_lone_page_number_is_dropped_but_body_text_is_kept() -> None:
    layout = PdfLayout(page_number_pattern=r"^-?\s*[0-9]+\s*-?$")
    pages = [Page(1, 600, 800, lines=[_line("12", 80, 300, 100), _line("- 1 -", 280, 770, 320)])]
    items, _ = page_items(pages, layout, Positions())
    assert [item.text for item in items if isinstance(item, FreeLine)] == ["12"]


def test_a_table_continued_on_the_next_page_is_one_table_with_its_header_read_once() -> None:
    layout = PdfLayout()
    header = ["一级指标", "三级指标", "分值"]
    pages = [
        Page(1, 600, 800, tables=[_table(500, 700, [header, ["产出", "数量", "10"]])]),
        Page(2, 600, 800, tables=[_table(60, 200, [header, ["效益", "满意度", "20"]])]),
    ]
    items, _ = page_items(pages, layout, Positions())
    tables = [item for item in items if isinstance(item, RawTable)]
    assert len(tables) == 1
    assert [row.texts for row in tables[0].rows] == [
        header,
        ["产出", "数量", "10"],
        ["效益", "满意度", "20"],
    ]


def test_a_table_after_a_line_on_the_next_page_is_another_table() -> None:
    layout = PdfLayout()
    pages = [
        Page(1, 600, 800, tables=[_table(500, 700, [["a", "b", "c"]])]),
        Page(
            2,
            600,
            800,
            lines=[_line("项目支出绩效自评表", 80, 60, 300)],
            tables=[_table(80, 200, [["a", "b", "c"]])],
        ),
    ]
    items, _ = page_items(pages, layout, Positions())
    assert sum(isinstance(item, RawTable) for item in items) == 2


def test_wrapped_paragraph_lines_are_joined_and_a_gap_is_a_blank_line() -> None:
    layout = PdfLayout()
    lines = [
        _line("一是科技创新攻坚不断加力。迅速组建", 70, 100, 500),  # indented first line, full
        _line("专班。", 50, 112, 80),  # wrapped, flush left
        _line("二是平台建设不断", 70, 124, 500),
        _line("壮大 2023 年", 50, 136, 120),
        _line("（一）主要职责", 50, 180, 150),  # after a gap
    ]
    pages = [Page(1, 600, 800, lines=lines)]
    items, _ = page_items(pages, layout, Positions())
    kinds = [(type(item).__name__, getattr(item, "text", "")) for item in items]
    assert kinds == [
        ("FreeLine", "一是科技创新攻坚不断加力。迅速组建专班。"),
        ("FreeLine", "二是平台建设不断壮大 2023 年"),
        ("BlankLine", ""),
        ("FreeLine", "（一）主要职责"),
    ]
    assert isinstance(items[2], BlankLine)


def test_latin_words_wrapped_at_a_space_keep_it() -> None:
    layout = PdfLayout()
    lines = [
        _line("占 GDP 比重达到 2.3", 70, 100, 500),
        _line("个百分点", 50, 112, 90),
        _line("收入 12", 70, 130, 500),
        _line("345 元", 50, 142, 90),
    ]
    items, _ = page_items([Page(1, 600, 800, lines=lines)], layout, Positions())
    assert [item.text for item in items if isinstance(item, FreeLine)] == [
        "占 GDP 比重达到 2.3个百分点",
        "收入 12 345 元",
    ]


def test_a_cut_merged_cell_gets_its_text_back() -> None:
    """A merged cell cut by the page break whose label fell on the next page: one cell."""
    layout = PdfLayout()
    first = PageTable(
        50,
        500,
        350,
        700,
        [50, 150, 350],
        [
            [
                PageCell(["产出指标"], 0, x0=50, x1=150, rows=1),
                PageCell(["数量"], 1, x0=150, x1=350),
            ],
            [
                PageCell([""], 0, x0=50, x1=150, rows=2, reaches_bottom=True),
                PageCell(["质量"], 1, x0=150, x1=350),
            ],
            [
                PageCell([], 0, x0=50, x1=150, continued=True),
                PageCell(["时效"], 1, x0=150, x1=350, reaches_bottom=True),
            ],
        ],
    )
    second = PageTable(
        50,
        60,
        350,
        200,
        [50, 150, 350],
        [
            [
                PageCell(["效益指标"], 0, x0=50, x1=150, rows=2),
                PageCell(["经济"], 1, x0=150, x1=350),
            ],
            [PageCell([], 0, x0=50, x1=150, continued=True), PageCell(["社会"], 1, x0=150, x1=350)],
        ],
    )
    items, _ = page_items(
        [Page(1, 600, 800, tables=[first]), Page(2, 600, 800, tables=[second])], layout, Positions()
    )
    table = next(item for item in items if isinstance(item, RawTable))
    assert [row.texts for row in table.rows] == [
        ["产出指标", "数量"],
        ["效益指标", "质量"],
        ["", "时效"],
        ["", "经济"],
        ["", "社会"],
    ]


# --- OCR confidence ----------------------------------------------------------------------------


def test_a_low_confidence_figure_is_reported_with_its_page_and_cell() -> None:
    layout = PdfLayout(min_confidence=0.9)
    cells = [
        PageCell(["三公经费"], 0, confidence=0.6, x0=50, x1=150),  # text: judged, not flagged
        PageCell(["5.38"], 1, confidence=0.99, x0=150, x1=250),
        PageCell(["2.69"], 2, confidence=0.62, x0=250, x1=350),
    ]
    table = PageTable(50, 100, 350, 200, [50, 150, 250, 350], [cells])
    _, low = page_items([Page(2, 600, 800, tables=[table])], layout, Positions())
    assert [(x.anchor, x.text) for x in low] == [("第2页 表1行1列3", "2.69")]


def test_precheck_asks_to_confirm_a_low_confidence_figure() -> None:
    from engine.model.package import ImportWarning, Location

    package = load_package(EXAMPLE / "dossier.toml", rubric().layout)
    warning = ImportWarning(
        code="IMPORT_LOW_CONFIDENCE",
        message="figure read by OCR with confidence 0.62",
        location=Location(document="package-scan.pdf:第2页 表1行1列3"),
        text="2.69",
    )
    flagged = package.model_copy(update={"warnings": [*package.warnings, warning]})
    engine = Evaluator(PythonBackend())
    precheck = engine.evaluate(flagged, rubric(), mode="precheck", as_of=AS_OF)
    needs = [n for n in precheck["needs_input"] if n["item"].startswith("package-scan.pdf")]
    assert needs == [
        {
            "item": "package-scan.pdf:第2页 表1行1列3",
            "what": "扫描件中的数字「2.69」识别置信度低，请核对",
        }
    ]
    bureau = engine.evaluate(flagged, rubric(), mode="bureau", as_of=AS_OF)
    assert not [n for n in bureau["needs_input"] if n["item"].startswith("package-scan.pdf")]
    assert any(w["code"] == "IMPORT_LOW_CONFIDENCE" for w in bureau["warnings"])
