"""Issue 14: what a bureau's staff meet first (empty documents, missing parts, Chinese labels)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import docx
import openpyxl
import pytest

from engine.backends import PythonBackend
from engine.cli import main as cli_main
from engine.diagnostics import PackageError
from engine.dossier import load_package
from engine.evaluate import Evaluator
from engine.importers.dispatch import import_document
from engine.rubric.load import load_rubric

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "yueyang-kjj-2023"
AS_OF = dt.date(2024, 6, 28)
TEXT = (EXAMPLE / "package.txt").read_text("utf-8")
LINES = TEXT.splitlines(keepends=True)
REPORT_AT = next(i for i, line in enumerate(LINES) if line.startswith("绩效自评报告"))


def _blank_docx() -> bytes:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    return buffer.getvalue()


def _blank_xlsx() -> bytes:
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.txt", b""),
        ("blank.txt", b"  \n\n\t\n"),
        ("blank.docx", _blank_docx()),
        ("blank.xlsx", _blank_xlsx()),
        ("chatter.txt", "这是一份说明，没有表格。\n也没有报告标题。\n".encode()),
    ],
)
def test_document_with_nothing_to_read_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(PackageError) as caught:
        import_document(name, data)
    assert caught.value.file == name
    problem = caught.value.problems[0]
    assert "没有" in problem.zh or "为空" in problem.zh
    assert problem.en


def _dossier(tmp_path: Path, documents: dict[str, bytes]) -> Path:
    manifest = (EXAMPLE / "dossier.toml").read_text("utf-8")
    names = ", ".join(f'"{n}"' for n in documents)
    manifest = manifest.replace('documents = ["package.txt"]', f"documents = [{names}]")
    for name, data in documents.items():
        (tmp_path / name).write_bytes(data)
    path = tmp_path / "dossier.toml"
    path.write_text(manifest, "utf-8")
    return path


def test_cli_refuses_an_empty_document_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _dossier(tmp_path, {"empty.txt": b""})
    assert cli_main(["score", str(path)]) == 2
    assert "empty.txt" in capsys.readouterr().err


def _report(path: Path, mode: str) -> dict[str, object]:
    rubric = load_rubric(REPO / "rubrics/yueyang-fujian5/2024.1.toml", [REPO / "rules"])
    return Evaluator(PythonBackend()).evaluate(load_package(path), rubric, mode=mode, as_of=AS_OF)


def test_package_without_the_report_is_scored_but_says_so(tmp_path: Path) -> None:
    path = _dossier(tmp_path, {"tables.txt": "".join(LINES[:REPORT_AT]).encode()})
    for mode in ("bureau", "precheck"):
        report = _report(path, mode)
        missing = [w for w in report["warnings"] if w["code"] == "PACKAGE_PART_MISSING"]  # type: ignore[index]
        assert [w["text"] for w in missing] == ["自评报告"]
    needs = report["needs_input"]
    assert any("自评报告" in n["what"] for n in needs)  # type: ignore[union-attr]


def test_package_without_the_tables_is_scored_but_says_so(tmp_path: Path) -> None:
    path = _dossier(tmp_path, {"report.txt": "".join(LINES[REPORT_AT:]).encode()})
    report = _report(path, "precheck")
    missing = {w["text"] for w in report["warnings"] if w["code"] == "PACKAGE_PART_MISSING"}  # type: ignore[index]
    assert missing == {"基础数据表", "部门整体支出绩效自评表", "项目支出绩效自评表"}
    assert {n["what"] for n in report["needs_input"]} >= {  # type: ignore[union-attr]
        f"缺少{part}" for part in missing
    }


def test_complete_package_has_no_missing_part_warning() -> None:
    report = _report(EXAMPLE / "dossier.toml", "precheck")
    assert not [w for w in report["warnings"] if w["code"] == "PACKAGE_PART_MISSING"]  # type: ignore[index]


def test_every_measure_field_has_a_chinese_name() -> None:
    import engine.measures  # noqa: F401  (registers every measure kind)
    from engine.labels import FACTS
    from engine.measures.base import REGISTRY

    fields = {name for spec in REGISTRY.values() for name in spec.fields}
    assert fields - FACTS.keys() == set()


def test_discretionary_reasons_cite_their_grounds_in_chinese() -> None:
    report = _report(EXAMPLE / "dossier.toml", "bureau")
    reasons = [d["reason"] for i in report["items"] for d in i["deductions"]]  # type: ignore[attr-defined]
    grounds = [r for r in reasons if "依据：" in r]
    assert grounds
    assert not [r for r in grounds if "=" in r or "_" in r]


def _adjust(clause: str, score: str, band: str | None = None) -> dict[str, object]:
    from decimal import Decimal

    from engine.adjust import Adjustment, apply_adjustment

    rubric = load_rubric(REPO / "rubrics/yueyang-fujian5/2024.1.toml", [REPO / "rules"])
    report = _report(EXAMPLE / "dossier.toml", "bureau")
    adj = Adjustment(clause, Decimal(score), "只提出资金不足", "审核员甲", "2026-11-30T00:00:00Z", band)
    return apply_adjustment(report, rubric, adj)


def _adjusted_label(report: dict[str, object], clause: str) -> str:
    for item in report["items"]:  # type: ignore[attr-defined]
        for adj in item["assessment"].get("adjustments", []):
            if adj["clause"] == clause:
                return str(adj["label"])
    raise AssertionError(clause)


def test_a_reviewer_names_the_band_where_ranges_overlap() -> None:
    from engine.adjust import AdjustmentError

    unnamed = _adjust("problems.quality", "0")
    assert _adjusted_label(unnamed, "problems.quality") == "未反映问题（其他情况，酌情扣分）"
    named = _adjust("problems.quality", "0", band="problems.funding-only")
    assert _adjusted_label(named, "problems.quality") == "只提出资金不足问题"
    with pytest.raises(AdjustmentError) as outside:
        _adjust("problems.quality", "5", band="problems.funding-only")
    assert outside.value.field == "score"
    with pytest.raises(AdjustmentError) as unknown:
        _adjust("problems.quality", "0", band="problems.nope")
    assert unknown.value.field == "band"


def test_refused_adjustments_say_in_chinese_what_is_wrong() -> None:
    from engine.adjust import AdjustmentError

    with pytest.raises(AdjustmentError) as fixed:
        _adjust("notice.issued", "1")
    with pytest.raises(AdjustmentError) as unknown:
        _adjust("no.such.clause", "1")
    assert fixed.value.field == unknown.value.field == "clause"
    assert fixed.value.message != unknown.value.message
    for error, clause in ((fixed.value, "notice.issued"), (unknown.value, "no.such.clause")):
        assert clause in error.message
        assert not re.search("[A-Za-z]", error.message.replace(clause, ""))


def test_times_people_read_are_beijing_time_in_chinese() -> None:
    from engine.labels import local_time

    assert local_time("2026-11-29T23:58:38.259+00:00") == "2026年11月30日 07:58"
    assert local_time("2026-11-29T23:58:38.259+00:00", "UTC") == "2026年11月29日 23:58"


def test_one_table_of_labels_for_the_cli_the_web_and_the_sheets() -> None:
    from engine.export._sheet import SEVERITY_LABELS
    from engine.labels import SEVERITIES
    from service.web.sheet import SEVERITY_ZH

    assert SEVERITY_LABELS is SEVERITIES
    assert SEVERITY_ZH is SEVERITIES


def test_the_cli_table_is_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["score", str(EXAMPLE / "dossier.toml")]) == 0
    out = capsys.readouterr().out
    assert "line outside every table" not in out
    assert "此行不在任何表格内" in out
    assert "模式 财政评审" in out
    assert "as_of" not in out


def test_a_toml_error_says_line_and_column_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "dossier.toml"
    path.write_text('department = "x"\nfiscal_year = = 2023\n', "utf-8")
    with pytest.raises(PackageError) as caught:
        load_package(path)
    assert "第 2 行" in caught.value.problems[0].zh
    assert "列" in caught.value.problems[0].zh


def _sheet_text(report: dict[str, object]) -> str:
    from engine.export import build_sheet

    sheet = build_sheet(report)
    cells = [cell for table in [sheet.items, *sheet.extra] for row in table.rows for cell in row]
    return "\n".join([*cells, *sheet.signatures, *(t.title for t in sheet.extra)])


def test_the_paper_sheet_sends_no_one_to_the_json_and_has_a_date_line() -> None:
    from engine.export import build_sheet

    report = _report(EXAMPLE / "dossier.toml", "bureau")
    text = _sheet_text(report)
    assert "JSON" not in text
    assert "日期：＿＿＿＿年＿＿月＿＿日" in text
    # Every evidence location is on paper: beside its deduction, or in the evidence table.
    sheet = build_sheet(report)
    beside = sum(cell.count("证据：") for row in sheet.items.rows for cell in row)
    table = next((t for t in sheet.extra if t.title == "证据附表"), None)
    evidence = sum(len(d["evidence"]) for i in report["items"] for d in i["deductions"])  # type: ignore[attr-defined]
    assert table is not None
    assert beside + len(table.rows) == evidence


def test_rubric_diff_prints_values_as_toml_whole_and_no_minus_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["rubric", "diff", "yueyang-fujian5@2024.1", "yitihua-platform@2024.1"]
    assert cli_main([*args, "--corpus", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "{ points = 3, discretionary = false }" in out
    assert "{'" not in out
    assert "None" not in out
    assert "…" not in out
    assert "−0 →" not in out
    assert " 0 → −3.00" in out


def test_rubric_test_without_case_suites_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "some-rubric").mkdir()
    assert cli_main(["rubric", "test", str(tmp_path)]) == 2
    assert "no case suites" in capsys.readouterr().err


def test_out_into_a_missing_folder_is_a_clear_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "sheet.xlsx"
    assert cli_main(["score", str(EXAMPLE / "dossier.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert str(out.parent) in err


def test_a_manifest_key_typo_gets_did_you_mean(tmp_path: Path) -> None:
    manifest = (EXAMPLE / "dossier.toml").read_text("utf-8")
    manifest = manifest.replace("department =", "departmnet =", 1)
    manifest = manifest.replace("issued = true", "isued = true", 1)
    manifest = manifest.replace('"package.txt"', f'"{EXAMPLE / "package.txt"}"')
    path = tmp_path / "dossier.toml"
    path.write_text(manifest, "utf-8")
    with pytest.raises(PackageError) as caught:
        load_package(path)
    shown = {p.path: p for p in caught.value.problems}
    assert "department" in shown["departmnet"].zh
    assert "did you mean 'department'" in shown["departmnet"].en
    assert "issued" in shown["notice.isued"].zh


def test_every_import_warning_code_has_chinese_text() -> None:
    from engine.labels import IMPORT_WARNINGS

    sources = "".join(p.read_text("utf-8") for p in (REPO / "engine" / "importers").glob("*.py"))
    codes = set(re.findall(r'"(IMPORT_[A-Z_]+)"', sources))
    assert codes
    assert codes - IMPORT_WARNINGS.keys() == set()


def test_the_pdf_sheet_has_a_date_line_to_fill_in() -> None:
    from pypdf import PdfReader

    from engine.export import sheet_bytes

    report = _report(EXAMPLE / "dossier.toml", "bureau")
    pdf = sheet_bytes(report, "pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "日期：＿＿＿＿年＿＿月＿＿日" in text
    assert "证据附表" in text
    assert "JSON" not in text
