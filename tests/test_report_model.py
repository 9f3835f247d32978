"""The typed report: every report the evaluator writes is a `Report`, and a stored report read
back into the model renders byte for byte as it was stored."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from engine.backends import PythonBackend
from engine.evaluate import Evaluator, render_json
from engine.evaluate.report import Report, read_report, score_report
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from tests.conftest import AS_OF


def _stored(text: str) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return parsed


@pytest.mark.parametrize("rubric_id", ["yueyang-fujian5", "yitihua-platform"])
@pytest.mark.parametrize("mode", ["bureau", "precheck"])
def test_every_report_is_a_report_and_reads_back_byte_for_byte(
    example: Package, rubric_id: str, mode: str
) -> None:
    rubric = load_rubric(BUNDLED_RUBRICS / rubric_id / "2024.1.toml", [BUNDLED_RULES])
    text = render_json(Evaluator(PythonBackend()).evaluate(example, rubric, mode=mode, as_of=AS_OF))  # type: ignore[arg-type]
    typed = read_report(_stored(text))
    assert isinstance(typed, Report)
    assert render_json(typed.to_json()) == text
    before = typed.total.score
    score_report(typed)  # the one place scores are summed agrees with what was written
    assert typed.total.score == before
    assert typed.total.score == sum((i.score for i in typed.items), Decimal(0))


def test_the_contract_is_closed(example: Package, rubric: Rubric) -> None:
    report = Evaluator(PythonBackend()).evaluate(example, rubric, mode="bureau", as_of=AS_OF)
    stored = _stored(render_json(report))
    stored["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        read_report(stored)


def test_scores_follow_the_deductions(example: Package, rubric: Rubric) -> None:
    report = Evaluator(PythonBackend()).evaluate(
        example, rubric, mode="bureau", as_of=dt.date(2024, 6, 28)
    )
    typed = read_report(_stored(render_json(report)))
    item = next(i for i in typed.items if i.deductions)
    taken = item.deductions.pop()
    score_report(typed)
    clause = next(c for c in item.clauses if c.id == taken.clause)
    assert item.score == report_item_score(report, item.id) + taken.points
    assert clause.score <= clause.max
    assert typed.total.score == Decimal(str(report["total"]["score"])) + taken.points


def report_item_score(report: dict[str, object], item_id: str) -> Decimal:
    items = report["items"]
    assert isinstance(items, list)
    return Decimal(str(next(i["score"] for i in items if i["id"] == item_id)))
