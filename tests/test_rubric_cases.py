"""Every case of every rubric case suite (`rubrics/<id>/tests/*.toml`), one parametrised test."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.lifecycle.casesuite import load_suite, run_case, suite_files
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES, resolve
from tests.conftest import _DURABLE

CASES = [
    pytest.param(path, case.name, id=f"{path.parent.parent.name}/{path.stem}: {case.name}")
    for rubric_dir in sorted(p for p in BUNDLED_RUBRICS.iterdir() if p.is_dir())
    for path in suite_files(rubric_dir)
    for case in load_suite(path).cases
]


@pytest.mark.parametrize(("path", "name"), CASES)
def test_rubric_case(path: Path, name: str) -> None:
    suite = load_suite(path)
    case = next(c for c in suite.cases if c.name == name)
    rubric = load_rubric(resolve(suite.rubric, [BUNDLED_RUBRICS]), [BUNDLED_RULES])
    result = run_case(path, suite, case, rubric, _DURABLE)
    assert result.ok, "\n".join(result.problems)


def test_every_clause_has_a_case() -> None:
    for rubric_dir in sorted(p for p in BUNDLED_RUBRICS.iterdir() if p.is_dir()):
        for version in sorted(rubric_dir.glob("*.toml")):
            rubric = load_rubric(version, [BUNDLED_RULES])
            covered = {
                c
                for path in suite_files(rubric_dir)
                for case in load_suite(path).cases
                for c in case.clause
            }
            clauses = {c.id for item in rubric.spec.items for c in item.clauses}
            assert clauses <= covered, f"{version}: no case for {sorted(clauses - covered)}"
