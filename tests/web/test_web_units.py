"""The pages' helpers on their own: the typed-in manifest, error placement, charts' data, excerpts."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from engine.diagnostics import PackageProblem
from service.errors import ApiError
from service.submission import Submission
from service.web import charts, season
from service.web.evidence import excerpt
from service.web.upload import errors_from, field_for, manifest_from_fields, split_list
from tests.web.conftest import EXAMPLE_DIR


def test_typed_in_manifest_keeps_unanswered_questions_absent() -> None:
    manifest = manifest_from_fields({"department": " 岳阳市科学技术局 ", "fiscal_year": "2023"})
    assert manifest == {"department": "岳阳市科学技术局", "fiscal_year": 2023}
    manifest = manifest_from_fields(
        {
            "department": "科技局",
            "fiscal_year": "二〇二三",
            "received_on": "2024-06-28",
            "notice_issued": "true",
            "notice_elements": ["自评范围"],
            "notice_elements_other": "附件、有关要求",
            "notice_evidence": "通知.pdf",
            "wg_established": "false",
            "units-0-name": "本级",
            "units-0-kind": "本级",
            "units-0-self_checked": "",
            "units-0-evidence": "a.pdf, b.pdf",
            "units-3-name": "所属单位甲",
        }
    )
    assert manifest["fiscal_year"] == "二〇二三"  # left for the engine's validation to refuse
    assert manifest["notice"] == {
        "issued": True,
        "elements": ["自评范围", "附件", "有关要求"],
        "evidence": ["通知.pdf"],
    }
    assert manifest["working_group"] == {"established": False, "evidence": []}
    assert manifest["units"] == [
        {"name": "本级", "kind": "本级", "self_checked": None, "evidence": ["a.pdf", "b.pdf"]},
        {"name": "所属单位甲", "kind": "", "self_checked": None, "evidence": []},
    ]
    assert split_list("甲\n乙，丙;丁、 ") == ["甲", "乙", "丙", "丁"]


@pytest.mark.parametrize(
    ("path", "kind", "field"),
    [
        ("fiscal_year", "fields", "fiscal_year"),
        ("notice.issued", "fields", "notice_issued"),
        ("notice.elements.2", "fields", "notice_elements"),
        ("working_group.established", "fields", "wg_established"),
        ("units.3.kind", "fields", "units-3-kind"),
        ("units", "fields", "units"),
        ("documents.0", "fields", "documents"),
        ("(body)", "fields", "_form"),
        ("notice.issued", "file", "manifest"),
        ("documents", "file", "documents"),
        ("as_of", "file", "as_of"),
    ],
)
def test_each_problem_goes_next_to_its_field(path: str, kind: str, field: str) -> None:
    assert field_for(path, kind) == field


def test_service_errors_become_field_messages() -> None:
    refused = ApiError(
        422,
        "invalid_package",
        "提交的材料无法读取或校验未通过",
        "invalid",
        problems=[PackageProblem("notice.issued", "应为 true 或 false", "bool")],
    )
    assert errors_from(refused, "fields").get("notice_issued") == ["应为 true 或 false"]
    assert errors_from(refused, "file").get("manifest") == ["notice.issued：应为 true 或 false"]
    no_rubric = ApiError(404, "rubric_not_found", "未找到评分表", "rubric not found")
    assert errors_from(no_rubric, "file").get("rubric") == ["未找到评分表"]


def _row(score: str, rules: tuple[tuple[str, str], ...] = (), **digest: object) -> season.Row:
    return season.Row(
        id=score,
        department="d",
        fiscal_year=2023,
        rubric_id="r",
        rubric_version="1",
        mode="bureau",
        as_of="2024-06-28",
        created_at=score,
        score=Decimal(score),
        max=Decimal(100),
        automatic=Decimal(score),
        adjustments=0,
        digest=season.Digest(
            needs_input=int(str(digest.get("needs_input", 0))),
            received_on=str(digest.get("received_on", "2024-06-28")),
            deadline="2024-06-30",
            deducted=tuple((r, Decimal(p), f"{r}项", "") for r, p in rules),
        ),
    )


def test_score_distribution_bins_and_the_costliest_rules() -> None:
    rows = [
        _row("59.99", (("a", "3"), ("a", "2"), ("b", "1"))),
        _row("60"),
        _row("85.87", (("b", "4"),)),
        _row("100", (("c", "0.5"),)),
    ]
    assert [b.count for b in season.distribution(rows)] == [1, 1, 0, 1, 1]
    costs = season.costly_rules(rows)
    # Most points first; on a tie, the rule that hit more packages.
    assert [(c.rule, c.points, c.packages) for c in costs] == [
        ("b", Decimal(5), 2),
        ("a", Decimal(5), 1),
        ("c", Decimal("0.5"), 1),
    ]
    chart = charts.rule_bars(costs)
    assert [b.label for b in chart.bars] == ["b项", "a项", "c项"]  # items, not rule ids
    assert "a项 共扣 5 分，涉及 1 份材料" in chart.description
    assert charts.histogram(season.distribution([])).description.startswith("共 0 份")


def test_statuses_filters_and_sorting() -> None:
    late = _row("70", received_on="2024-07-02")
    needs = _row("80", needs_input=2)
    rows = [late, needs, _row("90")]
    assert late.statuses == ["auto", "late"]
    assert needs.statuses == ["auto", "needs_input"]
    assert season.filter_rows(rows, department=None, rubric=None, status="late") == [late]
    assert season.filter_rows(rows, department=None, rubric="r@1", status="needs_input") == [needs]
    ordered = season.sort_rows(rows, "score", descending=False)
    assert [r.score for r in ordered] == [Decimal(70), Decimal(80), Decimal(90)]


def _stored(manifest: Path, *documents: str) -> str:
    return Submission(
        "toml",
        manifest.read_text("utf-8"),
        tuple((name, (EXAMPLE_DIR / name).read_bytes()) for name in documents),
    ).to_json()


def test_excerpts_of_text_word_excel_and_the_manifest() -> None:
    text = _stored(EXAMPLE_DIR / "dossier.toml", "package.txt")
    shown = excerpt(
        text, "package.txt:471 项目支出绩效自评表[业务工作经费] / 全社会研发投入增速 / 分值"
    )
    hits = [c for b in shown.blocks for row in b.rows for c in row if c.hit]
    assert [(c.where, c.text) for c in hits] == [("471", "5")]
    section = excerpt(text, "package.txt:597 §存在的问题及原因分析")
    lines = [line for b in section.blocks for line in b.lines if line.hit]
    assert [line.text for line in lines] == ["七、存在的问题及原因分析"]

    docx = _stored(EXAMPLE_DIR / "dossier-docx.toml", "package.docx")
    shown = excerpt(
        docx, "package.docx:表3行15列7 项目支出绩效自评表[业务工作经费] / 全社会研发投入增速 / 分值"
    )
    hits = [c for b in shown.blocks for row in b.rows for c in row if c.hit]
    assert [(c.where, c.text) for c in hits] == [("表3行15列7", "5")]

    xlsx = _stored(EXAMPLE_DIR / "dossier-xlsx.toml", "package.xlsx")
    shown = excerpt(
        xlsx,
        "package.xlsx:项目支出自评表!G16 项目支出绩效自评表[业务工作经费] / 全社会研发投入增速 / 分值",
    )
    hits = [c for b in shown.blocks for row in b.rows for c in row if c.hit]
    assert [(c.where, c.text) for c in hits] == [("G16", "5")]
    whole_row = excerpt(
        xlsx, "package.xlsx:基础数据表!14:14 2023年度部门整体支出绩效评价基础数据表"
    )
    assert {c.where for b in whole_row.blocks for row in b.rows for c in row if c.hit} >= {
        "A14",
        "B14",
    }

    manifest = excerpt(text, "dossier.toml units[1]")
    marked = [line.text for b in manifest.blocks for line in b.lines if line.hit]
    assert marked[0].startswith("[[units]]")
    assert any("岳阳市科技事务中心" in t for t in marked)
    assert excerpt(text, "other.txt:3").note  # not a document of the package
    as_json = Submission(
        "json", json.loads('{"department": "x", "received_on": "2024-06-28"}')
    ).to_json()
    marked = [
        line.text
        for b in excerpt(as_json, "dossier.toml received_on").blocks
        for line in b.lines
        if line.hit
    ]
    assert marked == ['  "received_on": "2024-06-28"']
