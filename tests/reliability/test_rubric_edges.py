"""Rubric edge cases: an empty rubric, a rubric of 500 rules, a fact of more than 255 fields.

Each either works (both backends agree) or is refused with a clear diagnostic; never a crash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend, EngineError
from engine.diagnostics import RubricError
from engine.evaluate import Evaluator, render_json
from engine.measures.base import Fact
from engine.model import Package
from engine.rubric.load import load_rubric
from engine.rubric.model import Rubric
from engine.rubric.registry import BUNDLED_RULES

AS_OF = dt.date(2024, 6, 28)
HEADER = """\
id = "edge"
version = "{version}"
title = "边界评分表"
fiscal_years = [2023]
total = {total}
"""


def _write(tmp_path: Path, version: str, body: str, total: int) -> Path:
    path = tmp_path / "edge" / f"{version}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(version=version, total=total) + body, "utf-8")
    return path


def _both(rubric: Rubric, package: Package, durable: DurableBackend) -> dict[str, Any]:
    """Score with both backends; they must agree byte for byte."""
    reports = [
        render_json(Evaluator(b).evaluate(package, rubric, mode="bureau", as_of=AS_OF))
        for b in (durable, PythonBackend())
    ]
    assert reports[0] == reports[1]
    return Evaluator(durable).evaluate(package, rubric, mode="bureau", as_of=AS_OF)


def test_an_empty_rubric_works_or_is_refused_with_diagnostics(
    tmp_path: Path, example: Package, durable: DurableBackend
) -> None:
    path = _write(tmp_path, "0.1", "sections = []\nitems = []\n", total=0)
    try:
        rubric = load_rubric(path, [BUNDLED_RULES])
    except RubricError as exc:  # refused: every diagnostic names the file and a code
        rendered = [d.render() for d in exc.diagnostics] or ["RubricError without a diagnostic"]
    else:
        rendered = []
    if rendered:
        assert all(line.startswith(str(path)) for line in rendered)
        return
    report = _both(rubric, example, durable)  # only the sentinel rule goes to durable_rules
    assert report["items"] == []
    assert report["total"]["score"] == 0


def _many_rules(count: int) -> str:
    out = [
        '[[sections]]\nname = "布置工作"\npoints = 10\n',
        '[[items]]\nid = "notice"\nname = "自评通知"\nsection = "布置工作"\npoints = 10\n',
        '[[items.clauses]]\nid = "notice.issued"\ntext = "印发通知"\npoints = 10\n',
    ]
    flag = 'measure = "manifest_flag"\nparams = { flag = "notice.issued", evidence = "notice.evidence", what = "通知", subject = "通知" }\n'
    for i in range(count):
        # Half can fire on the example (claimed == true), half never do; 0.01 points each.
        when = "claimed == true" if i % 2 == 0 else "done == false"
        out.append(
            f'[[rules]]\nid = "notice.r{i:03d}"\nclause = "notice.issued"\n{flag}'
            f'when = "{when}"\ndeduct = {{ points = 0.01 }}\nreason = "规则 {i}"\n'
        )
    return "\n".join(out)


def test_a_rubric_of_500_rules_compiles_and_scores(
    tmp_path: Path, example: Package, durable: DurableBackend
) -> None:
    path = _write(tmp_path, "0.2", _many_rules(500), total=10)
    start = time.perf_counter()
    rubric = load_rubric(path, [BUNDLED_RULES])
    assert len(rubric.plan.rules) == 500
    report = _both(rubric, example, durable)
    deductions = report["items"][0]["deductions"]
    assert len(deductions) == 250  # the rules whose condition holds, each once
    assert report["items"][0]["score"] == Decimal("7.50")
    assert time.perf_counter() - start < 60  # compiling 500 rules into durable_rules is bounded


def test_a_fact_of_more_than_255_fields_gets_a_clear_diagnostic(
    tmp_path: Path, example: Package, rubric: Rubric, durable: DurableBackend
) -> None:
    # A measure that yields 300 fields (no bundled one does: measures declare their fields).
    wide_rubric = load_rubric(rubric.path, [BUNDLED_RULES])
    tag = next(t for t in sorted(wide_rubric.measures) if t.startswith("manifest_flag"))
    instance = wide_rubric.measures[tag]

    def wide(package: Package, params: Any, ctx: Any) -> list[Fact]:
        facts = instance.spec.fn(package, params, ctx)
        extra = {f"extra_{i:03d}": Decimal(i) for i in range(300)}
        return [dataclasses.replace(f, fields={**f.fields, **extra}) for f in facts]

    wide_rubric.measures[tag] = dataclasses.replace(
        instance, spec=dataclasses.replace(instance.spec, fn=wide)
    )
    with pytest.raises(EngineError, match=r"has 30\d fields; durable_rules allows 252"):
        Evaluator(durable).evaluate(example, wide_rubric, mode="bureau", as_of=AS_OF)
    # The plain-Python backend has no such limit: the same evaluation works, the same report
    # as without the extra fields.
    wide_report = Evaluator(PythonBackend()).evaluate(example, wide_rubric, mode="bureau", as_of=AS_OF)
    plain = Evaluator(PythonBackend()).evaluate(example, rubric, mode="bureau", as_of=AS_OF)
    assert render_json(wide_report) == render_json(plain)
    # And durable_rules still works afterwards: the failed session was deleted.
    assert render_json(Evaluator(durable).evaluate(example, rubric, mode="bureau", as_of=AS_OF)) == render_json(plain)
