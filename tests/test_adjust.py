"""Reviewer adjustments stay inside the rubric's bands and keep the automatic assessment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.adjust import Adjustment, AdjustmentError, apply_adjustment
from engine.backends import PythonBackend
from engine.evaluate import Evaluator
from engine.model import Package
from engine.rubric.model import Rubric


def _report(example: Package, rubric: Rubric) -> dict:  # type: ignore[type-arg]
    return Evaluator(PythonBackend()).evaluate(
        example, rubric, mode="bureau", as_of=dt.date(2024, 6, 28)
    )


def test_inside_a_band_changes_the_total_and_keeps_the_automatic_assessment(
    example: Package, rubric: Rubric
) -> None:
    report = _report(example, rubric)
    adjusted = apply_adjustment(
        report,
        rubric,
        Adjustment(
            "problems.quality",
            Decimal(17),
            "问题归纳较全面",
            "reviewer-1",
            "2024-07-10T09:00:00+08:00",
        ),
    )
    before = next(i for i in report["items"] if i["id"] == "problems")
    after = next(i for i in adjusted["items"] if i["id"] == "problems")
    assert after["score"] == 17
    assert adjusted["total"]["score"] == report["total"]["score"] - before["score"] + 17
    assert after["assessment"]["mode"] == "reviewer"
    assert (
        after["assessment"]["bands"] == before["assessment"]["bands"]
    )  # the automatic one is kept
    assert after["assessment"]["adjustments"][0]["actor"] == "reviewer-1"
    assert [d["rule"] for d in after["deductions"]] == ["problems.fair"]
    assert report["total"]["score"] != adjusted["total"]["score"]  # the input is not mutated


def test_outside_every_band_is_refused_naming_the_bands(example: Package, rubric: Rubric) -> None:
    with pytest.raises(AdjustmentError) as info:
        apply_adjustment(
            _report(example, rubric),
            rubric,
            Adjustment("problems.quality", Decimal(19), "x", "r", "t"),
        )
    assert "16–18" in info.value.message
    assert {b["id"] for b in info.value.bands} >= {"problems.fair", "problems.comprehensive"}


def test_non_discretionary_clause_and_empty_reason_are_refused(
    example: Package, rubric: Rubric
) -> None:
    report = _report(example, rubric)
    with pytest.raises(AdjustmentError):
        apply_adjustment(report, rubric, Adjustment("notice.issued", Decimal(2), "x", "r", "t"))
    with pytest.raises(AdjustmentError):
        apply_adjustment(
            report, rubric, Adjustment("problems.quality", Decimal(17), "  ", "r", "t")
        )


def test_full_score_inside_the_top_band_removes_the_deduction(
    example: Package, rubric: Rubric
) -> None:
    adjusted = apply_adjustment(
        _report(example, rubric),
        rubric,
        Adjustment("problems.quality", Decimal(20), "全面", "r", "t"),
    )
    item = next(i for i in adjusted["items"] if i["id"] == "problems")
    assert item["score"] == 20
    assert item["deductions"] == []
