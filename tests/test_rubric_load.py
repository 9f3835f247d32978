"""Rubric compile errors: collected, positioned `file:line:col`, with closed codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagnostics import RubricError
from engine.locate import Locator
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RULES

MINIMAL = """\
id = "mini"
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

[[rules]]
id = "notice.not-issued"
clause = "notice.issued"
measure = "manifest_flag"
params = { flag = "notice.issued", what = "通知", subject = "通知" }
when = "done == false"
deduct = { points = 10 }
reason = "未印发通知"
"""


def _load(tmp_path: Path, text: str) -> RubricError:
    path = tmp_path / "r.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(RubricError) as info:
        load_rubric(path, [BUNDLED_RULES], shown="r.toml")
    return info.value


def test_minimal_rubric_compiles(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(MINIMAL, "utf-8")
    rubric = load_rubric(path, [BUNDLED_RULES], shown="r.toml")
    assert [r.spec.id for r in rubric.rules] == ["notice.not-issued"]
    assert rubric.rules[0].source == "r.toml:22"
    assert rubric.plan.name == f"mini@1#{rubric.sha256[:8]}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('when = "done == false"', 'when = "dnoe == false"', "r.toml:26:9: JX005"),
        ('when = "done == false"', 'when = "done >"', "r.toml:26:9: JX007"),
        ('measure = "manifest_flag"', 'measure = "manifest_flg"', "r.toml:24:1: JX003"),
        (
            'clause = "notice.issued"\nmeasure',
            'clause = "notice.isued"\nmeasure',
            "r.toml:23:1: JX009",
        ),
        ("}\nreason", "}\ncolour = 1\nreason", "r.toml:28:1: JX002"),
        ("deduct = { points = 10 }", 'deduct = { points = "ten" }', "r.toml:27:12: JX002"),
        ("total = 10", "total = 12", "r.toml:4:1: JX010"),
        ('title = "最小评分表"', 'title = "最小评分表', "r.toml:3:"),
        ("params = { flag", 'params = { flagg = "x", flag', "r.toml:25:12: JX012"),
    ],
)
def test_diagnostic_positions(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    error = _load(tmp_path, MINIMAL.replace(old, new, 1))
    rendered = [d.render() for d in error.diagnostics]
    assert any(r.startswith(expected) for r in rendered), rendered


def test_every_problem_is_collected(tmp_path: Path) -> None:
    text = MINIMAL.replace('when = "done == false"', 'when = "dnoe == false"').replace(
        "total = 10", "total = 11"
    )
    codes = sorted(d.code for d in _load(tmp_path, text).diagnostics)
    assert codes == ["JX005", "JX010"]


def test_duplicate_rule_id(tmp_path: Path) -> None:
    rule = MINIMAL[MINIMAL.index("[[rules]]") :]
    error = _load(tmp_path, MINIMAL + "\n" + rule)
    assert [d.code for d in error.diagnostics] == ["JX006"]
    assert error.diagnostics[0].line == 31


def test_locator_follows_arrays_of_tables() -> None:
    loc = Locator(MINIMAL)
    assert loc.find(("items", 0, "clauses", 0, "id")) == (17, 1)
    assert loc.find(("rules", 0, "params", "what")) == (25, 36)
    assert loc.find(("rules", 0, "nope")) == (21, 1)
