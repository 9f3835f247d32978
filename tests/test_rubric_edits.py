"""Rubric owners change scores by editing TOML: each edit below changes the score, with no code change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from engine.backends import PythonBackend
from engine.evaluate import Evaluator
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RULES
from tests.conftest import RUBRIC

SOURCE = RUBRIC.read_text("utf-8")


def _score(tmp_path: Path, text: str, package: Package) -> dict[str, Decimal]:
    path = tmp_path / "edited.toml"
    path.write_text(text, "utf-8")
    rubric = load_rubric(path, [BUNDLED_RULES])
    report = Evaluator(PythonBackend()).evaluate(package, rubric, mode="bureau", as_of=dt.date(2024, 6, 28))
    return {item["id"]: item["score"] for item in report["items"]} | {"total": report["total"]["score"]}


def _late(example: Package) -> Package:
    return example.model_copy(update={"dossier": example.dossier.model_copy(update={"received_on": dt.date(2024, 7, 3)})})


def _edit(old: str, new: str) -> str:
    assert SOURCE.count(old) == 1, old
    return SOURCE.replace(old, new)


def test_per_day_deduction(tmp_path: Path, example: Package) -> None:
    late = _late(example)  # 3 working days after Sun 30 Jun
    assert _score(tmp_path, SOURCE, late)["submission"] == 7
    edited = _edit("deduct = { per_unit = 1, count = \"days_late\" }", "deduct = { per_unit = 2, count = \"days_late\" }")
    assert _score(tmp_path, edited, late)["submission"] == 4


def test_deadline(tmp_path: Path, example: Package) -> None:
    undated = example.model_copy(update={"dossier": example.dossier.model_copy(update={"deadline": None})})
    assert _score(tmp_path, SOURCE, undated)["submission"] == 10
    edited = _edit("deadline = 2024-06-30", "deadline = 2024-06-26")
    assert _score(tmp_path, edited, undated)["submission"] == 8  # Thu 27 and Fri 28 June


def test_required_notice_element(tmp_path: Path, example: Package) -> None:
    assert _score(tmp_path, SOURCE, example)["notice"] == 8
    edited = _edit('"有关要求", "附件"]', '"有关要求", "附件", "时间安排"]')
    assert _score(tmp_path, edited, example)["notice"] == 7


def test_points_of_a_clause(tmp_path: Path, example: Package) -> None:
    no_notice = example.model_copy(update={"dossier": example.dossier.model_copy(update={"notice": None})})
    before = _score(tmp_path, SOURCE, no_notice)["notice"]
    edited = _edit("deduct = { points = 2 }\nreason = \"未印发绩效自评通知", "deduct = { points = 1 }\nreason = \"未印发绩效自评通知")
    assert _score(tmp_path, edited, no_notice)["notice"] == before + 1


@pytest.mark.parametrize("auto", ["min", "max"])
def test_band_placement_and_range(tmp_path: Path, example: Package, auto: str) -> None:
    base = _score(tmp_path, SOURCE, example)["problems"]
    placed = _edit('auto_point_in_band = "mid"', f'auto_point_in_band = "{auto}"')
    moved = _score(tmp_path, placed, example)["problems"]
    assert moved == base + (1 if auto == "max" else -1)
    widened = placed.replace('range = [13, 15]\nwhen = "areas_covered >= 2', 'range = [11, 15]\nwhen = "areas_covered >= 2')
    assert _score(tmp_path, widened, example)["problems"] == (15 if auto == "max" else 11)


def test_band_auto_zero_is_kept(tmp_path: Path, example: Package) -> None:
    """`auto = 0` places the score at 0, not at the middle of the band (0 is not "unset")."""
    missing = '''when = "present == false or problems == 0"
auto = 0'''
    always = _edit(missing, 'when = "true"\nauto = 0')
    assert _score(tmp_path, always, example)["problems"] == 0
    at_one = _edit(missing, 'when = "true"\nauto = 1')
    assert _score(tmp_path, at_one, example)["problems"] == 1
