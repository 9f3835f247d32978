"""The report-text layer: points with their spans, null content, words not substrings,
traditional characters, the concepts file's diagnostics, and explanations without signal names."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from engine.backends import PythonBackend
from engine.diagnostics import RubricError
from engine.evaluate import Evaluator
from engine.export._sheet import build_sheet
from engine.lifecycle.calibrate import Corpus, CorpusSection, corpus_package
from engine.lifecycle.lint import lint_file
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from engine.text import lexicon, load_concepts, read_points
from engine.text.points import Line
from tests.conftest import repo_path

CONCEPTS = "rules/concepts/2024.1.toml"
LEX = lexicon(load_concepts(repo_path(*CONCEPTS.split("/")).read_text("utf-8"), CONCEPTS))


def _points(*lines: str) -> list[str]:
    return [p.text for p in read_points([Line(t, f"x:{n}") for n, t in enumerate(lines, 1)], LEX)]


def test_inline_enumeration_is_cut_into_points_with_spans() -> None:
    points = read_points([Line("存在以下问题：一是预算编制不细；二是资产管理不规范。", "r:5")], LEX)
    assert [p.text for p in points] == ["预算编制不细；", "资产管理不规范。"]
    assert (points[0].start, points[0].end) == (9, 16)
    assert points[1].location() == "r:5 第19–26字"


@pytest.mark.parametrize(
    "lines",
    [
        ["(1)预算编制不细。(2)资产管理不规范。"],
        ["①预算编制不细；②资产管理不规范。"],
        ["首先，预算编制不细。其次，资产管理不规范。"],
        ["预算编制不细；资产管理不规范。"],
        ["存在的问题主要有以下几个方面：", "预算编制不细。", "- 3 -", "资产管理不规范。"],
        ["其一，预算编制不细。其二，资产管理不规范。", "以上问题，我们将认真加以整改。"],
    ],
)
def test_layouts_give_the_same_two_points(lines: list[str]) -> None:
    assert len(_points(*lines)) == 2


@pytest.mark.parametrize(
    "text",
    [
        "暂无。",
        "无。",
        "暂无问题",
        "经自查，没有发现问题。",
        "本年度不存在违规使用资金等问题。",
        "暂 无 。",
    ],
)
def test_null_content_has_no_points(text: str) -> None:
    assert _points(text) == []


def test_words_not_substrings() -> None:
    assert "cause" in LEX.concepts_in("因人员变动频繁，工作衔接不畅")
    assert "cause" not in LEX.concepts_in("因此部分工作开展受到影响")


def test_traditional_reads_as_simplified() -> None:
    assert LEX.simplify("經費緊張，資金缺口較大") == "经费紧张，资金缺口较大"
    assert "funding_shortfall" in LEX.concepts_in(LEX.simplify("經費緊張"))


def test_money_alone_is_not_the_funds_area() -> None:
    assert "area_funds" not in LEX.concepts_in("资金缺口较大")
    assert "area_funds" in LEX.concepts_in("专项资金拨付进度慢")


def test_concepts_file_lints_clean() -> None:
    assert lint_file(repo_path(*CONCEPTS.split("/")), [BUNDLED_RULES]) == []


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (('any = ["money", "support"]', 'any = ["money", "suport"]'), "JX019"),
        (('words = ["支持", "补助", "扶持"]', "words = []"), "JX020"),
        (('words = ["支持", "补助", "扶持"]', 'words = ["支持", "补 助"]'), "JX021"),
        (('"政府采购" = "area_procurement"', '"政府采购" = "area_buying"'), "JX019"),
    ],
)
def test_concepts_diagnostics_have_positions(edit: tuple[str, str], code: str) -> None:
    text = repo_path(*CONCEPTS.split("/")).read_text("utf-8")
    assert text.count(edit[0]) == 1
    edited = text.replace(*edit)
    with pytest.raises(RubricError) as caught:
        load_concepts(edited, "concepts.toml")
    diag = caught.value.diagnostics[0]
    assert diag.code == code
    changed = next(n for n, line in enumerate(edited.splitlines(), 1) if edit[1] in line)
    assert changed - 1 <= diag.line <= changed  # the line changed, or its table's header
    assert diag.render().startswith(f"concepts.toml:{diag.line}:{diag.col}: {code}")


def test_explanation_names_points_and_no_signal_names() -> None:
    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.2.toml", [BUNDLED_RULES])
    section = CorpusSection(
        id="p1",
        clause="problems.quality",
        band="-",
        score=Decimal(0),
        reason="-",
        title="七、存在的问题及原因分析",
        text="一是预算编制不细，由于测算不足；二是资产管理不规范。",
    )
    package = corpus_package(Corpus(held_out_every=3, sections=[section]), section, 2023)
    report = Evaluator(PythonBackend()).evaluate(
        package, rubric, mode="bureau", as_of=dt.date(2024, 6, 28)
    )
    item = next(i for i in report["items"] if i["id"] == "problems")
    deduction = item["deductions"][0]
    assert "共2条问题" in deduction["reason"]
    values = [e["value"] for e in deduction["evidence"]]
    assert any(
        v.startswith("问题1：") and "预算和预算绩效管理" in v and "分析了原因" in v for v in values
    )
    assert any(v.startswith("问题2：") and "未分析原因" in v for v in values)
    printed = str(build_sheet(report))
    for name in ("cause_share", "areas_covered", "only_funding", "points="):
        assert name not in printed
    assert "cause_share" in item["assessment"]["signals"]  # machines still get the signals


def test_the_segmenter_is_quiet_and_caches_only_in_the_temp_dir(tmp_path: Path) -> None:
    work, temp = tmp_path / "work", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    code = (
        "import pathlib; from engine.text import lexicon, load_concepts;"
        f"c = load_concepts(pathlib.Path({str(repo_path(*CONCEPTS.split('/')))!r}).read_text('utf-8'), {CONCEPTS!r});"
        "print(sorted(lexicon(c).words('因人员变动频繁')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=os.environ | {"TMPDIR": str(temp), "PYTHONPATH": str(repo_path())},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'因'" in result.stdout
    assert result.stderr == ""
    assert list(work.iterdir()) == []


def test_rubric_lint_reports_a_broken_concepts_file(tmp_path: Path) -> None:
    folder = tmp_path / "concepts"
    folder.mkdir()
    broken = folder / "2024.9.toml"
    text = repo_path(*CONCEPTS.split("/")).read_text("utf-8")
    broken.write_text(
        text.replace('all = ["money", "shortfall"]', 'all = ["money", "shortfal"]'), "utf-8"
    )
    (diag,) = lint_file(broken, [BUNDLED_RULES])
    assert diag.code == "JX019"
    assert "shortfal" in diag.message
    assert 'all = ["money", "shortfal"]' in broken.read_text("utf-8").splitlines()[diag.line - 1]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (
            "report_problem_points",
            {"section": "heading_problems", "cause": "cause", "funding": "funding_shortfall"},
        ),
        (
            "report_suggestion_points",
            {
                "section": "heading_suggestions",
                "problems_section": "heading_problems",
                "problem_funding": "funding_shortfall",
                "funding": "more_funding",
                "concrete": "concrete",
            },
        ),
    ],
)
def test_a_missing_section_is_named_as_the_rubric_names_it(
    kind: str, params: dict[str, str]
) -> None:
    """The section's name in explanations is a rubric parameter, not wording in the code."""
    from engine.measures.base import REGISTRY, MeasureContext, WorkCalendar

    rubric = load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.2.toml", [BUNDLED_RULES])
    section = CorpusSection(
        id="p1", clause="problems.quality", band="-", score=Decimal(0), reason="-",
        title="七、其他需要说明的情况", text="无。",
    )  # fmt: skip
    package = corpus_package(Corpus(held_out_every=3, sections=[section]), section, 2023)
    ctx = MeasureContext(
        mode="bureau", as_of=dt.date(2024, 6, 28), calendar=WorkCalendar(), data=rubric.data
    )
    spec = REGISTRY[kind]
    named = {"concepts": CONCEPTS, "name": "问题与不足", "title": "问题与不足分析"}
    [fact] = spec.fn(package, spec.params.model_validate(params | named), ctx)
    assert fact.fields["present"] is False
    assert fact.fields["explanation"] == "未找到「问题与不足」部分"
    assert [e.value for e in fact.evidence] == ["未找到「问题与不足」部分"]
    assert fact.subject == "问题与不足分析"
