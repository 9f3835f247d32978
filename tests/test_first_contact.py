"""Issue 14: what a bureau's staff meet first (empty documents, missing parts, Chinese labels)."""

from __future__ import annotations

import datetime as dt
import io
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
