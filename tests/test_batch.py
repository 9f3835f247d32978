"""Batch scoring: a folder of generated dossiers, some broken, in parallel; the results table."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from bench.dossiers import generate
from engine.batch import find_dossiers, is_manifest
from engine.cli import EXIT_BATCH_FAILURES, main
from engine.export.summary import (
    STATUS_AUTO,
    STATUS_FAILED,
    STATUS_LATE,
    STATUS_NEEDS_INPUT,
    STATUS_REVIEWED,
    SummaryEntry,
    results_table,
    status,
    summary_bytes,
)

RUBRIC = "yueyang-fujian5@2024.2"  # exact figures: name the version


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("season")
    generate(folder, 8, broken=2, seed=7)
    # Not a manifest: other TOML beside the dossiers is left alone.
    (folder / "notes.toml").write_text('title = "说明"\n', "utf-8")
    return folder


def _run(*args: str) -> int:
    return main(["score", *args, "--rubric", RUBRIC])


def test_jobs_do_not_change_the_summary_and_failures_are_listed(
    season: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert _run(str(season), "--jobs", "1", "--summary", str(one)) == EXIT_BATCH_FAILURES
    first = capsys.readouterr()
    assert _run(str(season), "--jobs", "2", "--summary", str(two)) == EXIT_BATCH_FAILURES
    assert one.read_bytes() == two.read_bytes()
    assert "共 8 个材料包，6 个已评分，2 个失败" in first.out
    failures = [line for line in first.out.splitlines() if line.startswith("失败")]
    assert len(failures) == 2
    assert "TOML" in failures[0]  # the first broken one is a syntax error, the second another
    for line in failures:  # the manifest's path is printed once, before its problem
        path = line.split()[1].rstrip(":")
        assert line.count(path) == 1, line
    # Not a terminal: one plain line per package on stderr.
    assert len([line for line in first.err.splitlines() if line.startswith("[")]) == 8
    rows = list(csv.reader(io.StringIO(one.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["2023年度部门整体支出绩效自评考核结果汇总表"]
    assert rows[2][:2] == ["排名", "被评单位"]
    assert rows[2][-5:] == ["总分", "等级", "评分模式", "状态", "主要扣分"]
    body = rows[3:]
    assert len(body) == 8
    assert [r[-2] for r in body].count(STATUS_FAILED) == 2
    scored = [r for r in body if r[-2] != STATUS_FAILED]
    totals = [float(r[rows[2].index("总分")]) for r in scored]
    assert totals == sorted(totals, reverse=True)
    assert {r[rows[2].index("等级")] for r in scored} <= {"优", "良", "中", "差"}


def test_out_dir_writes_each_report(season: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    assert _run(str(season / "d000"), str(season / "d001"), "--out-dir", str(out)) in (
        0,
        EXIT_BATCH_FAILURES,
    )
    written = sorted(p.name for p in out.iterdir())
    assert written
    assert all(name.endswith("__dossier.json") for name in written)
    report = json.loads((out / written[0]).read_text("utf-8"))
    assert report["rubric"]["version"] == "2024.2"
    assert report["total"]["grade"] in {"优", "良", "中", "差"}


def test_manifests_are_found_and_other_toml_is_left_alone(season: Path, tmp_path: Path) -> None:
    found = find_dossiers([season])
    assert len(found) == 8
    assert all(p.name == "dossier.toml" for p in found)
    assert not is_manifest(season / "notes.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('department = "未闭合\n', "utf-8")
    assert is_manifest(broken)  # a manifest that does not parse is reported, not skipped
    assert find_dossiers([season, season / "d000" / "dossier.toml"]) == found  # each once


def _report(total: str, **package: object) -> dict[str, object]:
    return {
        "mode": "bureau",
        "as_of": "2024-07-01",
        "rubric": {"id": "r", "version": "1"},
        "package": {"department": f"部门{total}", "fiscal_year": 2023, **package},
        "total": {"max": 100, "score": total, "grade": "良"},
        "items": [
            {
                "name": "自评通知",
                "score": total,
                "assessment": {"mode": "rule"},
                "deductions": [
                    {"rule": "a", "points": 1},
                    {"rule": "b", "points": 4},
                    {"rule": "c", "points": 2},
                    {"rule": "d", "points": 3},
                ],
            }
        ],
        "needs_input": [],
    }


def test_ranks_share_ties_and_list_the_three_largest_deductions() -> None:
    table = results_table(
        [
            SummaryEntry("c", _report("80")),
            SummaryEntry("a", _report("90")),
            SummaryEntry("b", _report("80")),
            SummaryEntry("z", None, "坏了"),
        ]
    ).table
    assert [r[0] for r in table.rows] == ["1", "2", "2", ""]
    assert table.rows[-1][-2:] == [STATUS_FAILED, "坏了"]
    assert table.rows[0][-1].split("\n") == [
        "−4 自评通知 [b]",
        "−3 自评通知 [d]",
        "−2 自评通知 [c]",
    ]


def test_status_order() -> None:
    report = _report("80", received_on="2024-07-02", deadline="2024-06-30")
    assert status(report) == STATUS_LATE
    report["needs_input"] = [{"item": "自评通知", "what": "通知"}]
    assert status(report) == STATUS_NEEDS_INPUT
    reviewed = _report("80", received_on="2024-06-30", deadline="2024-06-30")
    assert status(reviewed) == STATUS_AUTO
    reviewed["items"][0]["assessment"] = {"mode": "reviewer"}  # type: ignore[index]
    assert status(reviewed) == STATUS_REVIEWED


def test_the_table_is_chinese_and_stable_in_xlsx_and_pdf() -> None:
    entries = [SummaryEntry("a", _report("90")), SummaryEntry("b", _report("59.5"))]
    table = results_table(entries)
    xlsx = summary_bytes(table, "xlsx")
    assert xlsx == summary_bytes(results_table(entries), "xlsx")
    archive = zipfile.ZipFile(io.BytesIO(xlsx))
    assert {i.date_time for i in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert b"2000-01-01T00:00:00Z</dcterms:modified>" in archive.read("docProps/core.xml")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    assert sheet.title == "考核结果汇总表"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.cell(1, 1).value == "2023年度部门整体支出绩效自评考核结果汇总表"
    assert "日期：2024-07-01" in str(sheet.cell(2, 1).value)
    pdf = summary_bytes(table, "pdf")
    assert pdf == summary_bytes(results_table(entries), "pdf")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    text = page.extract_text()
    for words in ("考核结果汇总表", "部门90", "被评单位", "财政局评分", "自动评分"):
        assert words in text
    with pytest.raises(ValueError, match="unknown results table format"):
        summary_bytes(table, "docx")


def test_a_terminal_gets_a_progress_bar(season: Path) -> None:
    import shlex
    import shutil
    import subprocess
    import sys

    from engine.rubric.registry import REPO_ROOT

    if shutil.which("script") is None:  # util-linux: gives the command a pseudo-terminal
        pytest.skip("no `script` command")
    command = shlex.join(
        [sys.executable, "-m", "engine.cli", "score", str(season / "d000"), str(season / "d001"),
         "--rubric", RUBRIC]
    )  # fmt: skip
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "2/2" in done.stdout  # done / total
    assert "━" in done.stdout  # the bar (its rate shows once rich has timed two packages)
    assert "[1/2]" not in done.stdout  # not the plain lines
