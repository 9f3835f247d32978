"""Grades are rubric data: bands of the total, linted for coverage (JX022), carried by the report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from engine.adjust import Adjustment, apply_adjustment
from engine.backends import PythonBackend
from engine.evaluate import Evaluator
from engine.lifecycle.lint import lint_file
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES

GRADED = BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.2.toml"
AS_OF = dt.date(2024, 6, 28)

# A one-item rubric whose total is 10, to which each test appends its grade bands.
MINI = """id = "mini"
version = "1"
title = "最小评分表"
total = 10

[[sections]]
name = "布置工作"
points = 10

[[items]]
id = "notice"
name = "自评通知"
section = "布置工作"
points = 10

[[items.clauses]]
id = "notice.issued"
text = "印发通知得10分"
points = 10
"""


def _grades(*bands: str) -> str:
    return MINI + "".join(f"\n[[grades]]\n{band}\n" for band in bands)


TOP = 'label = "优"\nlower = 9\nupper = 10\nupper_inclusive = true'
LOW = 'label = "差"\nlower = 0\nupper = 9'


@pytest.mark.parametrize(
    ("score", "grade"),
    [("0", "差"), ("59.99", "差"), ("60", "中"), ("79.99", "中"), ("80", "良"), ("89.99", "良"),
     ("90", "优"), ("100", "优")],
)
def test_bound_belongs_to_the_band_that_includes_it(score: str, grade: str) -> None:
    rubric = load_rubric(GRADED, [BUNDLED_RULES])
    assert rubric.spec.grade_of(Decimal(score)) == grade


def test_report_carries_the_grade_only_when_the_rubric_has_grades(example: Package) -> None:
    evaluator = Evaluator(PythonBackend())
    graded = evaluator.evaluate(
        example, load_rubric(GRADED, [BUNDLED_RULES]), mode="bureau", as_of=AS_OF
    )
    plain = evaluator.evaluate(
        example,
        load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES]),
        mode="bureau",
        as_of=AS_OF,
    )
    assert graded["total"] == {"max": 100, "score": Decimal("85.87"), "grade": "良"}
    assert plain["total"] == {"max": 100, "score": Decimal("85.87")}  # 2024.1 reports unchanged


def test_an_adjustment_regrades_the_total(example: Package) -> None:
    rubric = load_rubric(GRADED, [BUNDLED_RULES])
    report = Evaluator(PythonBackend()).evaluate(example, rubric, mode="bureau", as_of=AS_OF)
    adjusted = apply_adjustment(
        report, rubric, Adjustment("problems.quality", Decimal(20), "全面", "r", "t")
    )
    assert adjusted["total"]["score"] == Decimal("91.87")
    assert adjusted["total"]["grade"] == "优"
    assert report["total"]["grade"] == "良"


def _lint(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "mini.toml"
    path.write_text(text, "utf-8")
    return [f"{d.line} {d.code} {d.message}" for d in lint_file(path, [BUNDLED_RULES])]


def test_bands_that_tile_the_total_lint_clean(tmp_path: Path) -> None:
    assert _lint(tmp_path, _grades(TOP, LOW)) == []


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        ((TOP, LOW.replace("upper = 9", "upper = 8")), "gap between 差 and 优: 8 to 9"),
        ((TOP, LOW.replace("upper = 9", "upper = 9\nupper_inclusive = true")), "overlap"),
        ((TOP, LOW.replace("upper = 9", "upper = 9.5")), "overlap between 差 and 优"),
        ((TOP.replace("upper_inclusive = true", ""), LOW), "not at total 10 inclusive"),
        ((TOP, LOW.replace("lower = 0", "lower = 1")), "not at 0 inclusive"),
        ((TOP, LOW.replace("差", "优")), "used twice"),
        ((TOP, LOW, 'label = "空"\nlower = 9\nupper = 9'), "holds no score"),
    ],
)
def test_gaps_overlaps_and_empty_bands_are_jx018(
    tmp_path: Path, bands: tuple[str, ...], problem: str
) -> None:
    found = _lint(tmp_path, _grades(*bands))
    assert found
    assert all(" JX022 " in d for d in found), found
    assert any(problem in d for d in found), found


def test_bundled_graded_versions_grade_the_usual_hunan_bands() -> None:
    for rubric_id in ("yueyang-fujian5", "yitihua-platform"):
        spec = load_rubric(BUNDLED_RUBRICS / rubric_id / "2024.2.toml", [BUNDLED_RULES]).spec
        assert [(g.label, int(g.lower), int(g.upper)) for g in spec.grades] == [
            ("优", 90, 100), ("良", 80, 90), ("中", 60, 80), ("差", 0, 60)
        ]
