"""The automatic bands of 反映问题情况 and 建议情况 against a labelled corpus (docs/rubric-format.md#calibration).

The corpus was labelled, and its held-out third fixed, before any threshold was set; the
thresholds were fitted on the other two thirds only. These tests hold the held-out figures.
"""

from __future__ import annotations

import pytest

from engine.backends.durable_adapter import DurableBackend
from engine.backends.plan import Backend
from engine.cli import main
from engine.lifecycle.calibrate import Calibration, calibrate, load_corpus
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RUBRICS, BUNDLED_RULES
from tests.conftest import repo_path

CORPUS = repo_path("tests", "calibration", "corpus.toml")
CLAUSES = ("problems.quality", "suggestions.quality")
ZERO_BANDS = ("problems.funding-only", "suggestions.funding-only")


def _run(rubric_id: str, backend: Backend) -> Calibration:
    rubric = load_rubric(BUNDLED_RUBRICS / rubric_id / "2024.2.toml", [BUNDLED_RULES])
    return calibrate(rubric, load_corpus(CORPUS), backend)


def test_corpus_is_large_enough_and_split_by_its_rule() -> None:
    corpus = load_corpus(CORPUS)
    kinds = [s.clause for s in corpus.sections]
    assert kinds.count("problems.quality") >= 45
    assert kinds.count("suggestions.quality") >= 40
    held = [s.id for s in corpus.sections if corpus.held_out(s)]
    assert held
    assert all(int(i[1:]) % corpus.held_out_every == 0 for i in held)
    ids = {s.id for s in corpus.sections}
    assert all(s.problems in ids for s in corpus.sections if s.problems)


@pytest.mark.parametrize("rubric_id", ["yueyang-fujian5", "yitihua-platform"])
def test_held_out_band_agreement(rubric_id: str, durable: DurableBackend) -> None:
    result = _run(rubric_id, durable)
    for clause in CLAUSES:
        held = result.tallies[(clause, "held-out")]
        assert held.total >= 15
        assert held.band_exact / held.total >= 0.9, (clause, held.misses)
        for zero in ZERO_BANDS:
            labelled = sum(n for (label, _), n in held.confusion.items() if label == zero)
            assigned = sum(n for (_, got), n in held.confusion.items() if got == zero)
            agreed = held.confusion[(zero, zero)]
            if zero.startswith(clause.split(".")[0]):
                assert labelled >= 2
                assert agreed == labelled == assigned, (zero, held.misses)


def test_calibrate_command_prints_both_splits(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["rubric", "calibrate", "yueyang-fujian5@2024.2", str(CORPUS), "--backend", "python"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "留出集" in out
    assert "拟合集" in out
    assert "混淆矩阵 problems.quality" in out


def test_the_old_version_disagrees_more(python_backend: Backend) -> None:
    """2024.1 read paragraphs and exact phrases: the corpus shows why 2024.2 exists."""
    old = calibrate(
        load_rubric(BUNDLED_RUBRICS / "yueyang-fujian5" / "2024.1.toml", [BUNDLED_RULES]),
        load_corpus(CORPUS),
        python_backend,
    )
    new = _run("yueyang-fujian5", python_backend)
    for clause in CLAUSES:
        was, now = old.tallies[(clause, "held-out")], new.tallies[(clause, "held-out")]
        assert was.band_exact < now.band_exact
