"""Explain: every rule and band, fired or not, with the facts tried; the same on both backends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.backends import PythonBackend
from engine.backends.durable_adapter import DurableBackend
from engine.dossier import load_package
from engine.evaluate import Evaluator, render_json
from engine.evaluate.explain import render_explanation
from engine.rubric.load import load_rubric
from engine.rubric.registry import BUNDLED_RULES, REPO_ROOT
from tests.conftest import AS_OF

GOLDEN = Path(__file__).parent / "golden" / "explain" / "example-yueyang-fujian5-2024.1.json"
REGENERATE = os.environ.get("JIXIAO_REGENERATE_GOLDEN") == "1"


def _explain(backend: PythonBackend | DurableBackend, mode: str = "bureau") -> tuple[dict, dict]:  # type: ignore[type-arg]
    # Relative paths, so the sources in the golden file do not name this machine's folders.
    package = load_package(Path("examples/yueyang-kjj-2023/dossier.toml"))
    rubric = load_rubric(Path("rubrics/yueyang-fujian5/2024.1.toml"), [BUNDLED_RULES])
    return Evaluator(backend).explain(package, rubric, mode=mode, as_of=AS_OF)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["python", "durable"])
def test_explanation_of_the_example_matches_the_golden_file(
    backend: str, durable: DurableBackend, python_backend: PythonBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    _, explanation = _explain(durable if backend == "durable" else python_backend)
    text = render_json(explanation)
    if REGENERATE and backend == "python":
        GOLDEN.write_text(text, "utf-8")
    assert text == GOLDEN.read_text("utf-8")


def test_every_rule_and_band_is_explained_and_agrees_with_what_fired(
    python_backend: PythonBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    report, explanation = _explain(python_backend)
    rubric = load_rubric(Path("rubrics/yueyang-fujian5/2024.1.toml"), [BUNDLED_RULES])
    assert [r["rule"] for r in explanation["rules"]] == [r.spec.id for r in rubric.rules]
    assert [b["band"] for c in explanation["bands"] for b in c["bands"]] == [
        b.spec.id for b in rubric.bands
    ]
    deducted = {d["rule"] for i in report["items"] for d in i["deductions"]}
    for rule in explanation["rules"]:
        # Re-trying the condition on each fact agrees with what the backend matched.
        assert all(f["fired"] == f["holds"] for f in rule["facts"]), rule["rule"]
        assert rule["fired"] == any(f["fired"] for f in rule["facts"])
        if rule["rule"] in deducted:
            assert rule["outcome"].startswith("扣分")
        elif not rule["fired"] and rule["facts"]:
            assert "不成立" in rule["outcome"]
    chosen = {
        b["clause"]: b["band"] for i in report["items"] for b in i["assessment"].get("bands", [])
    }
    for clause in explanation["bands"]:
        assert clause["chosen"] == chosen[clause["clause"]]
        first_holding = next(b["band"] for b in clause["bands"] if b["holds"])
        assert clause["chosen"] == first_holding  # bands in order: the first that holds chooses


def test_a_rule_without_facts_in_precheck_says_why(
    python_backend: PythonBackend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO_ROOT)
    source = Path("examples/yueyang-kjj-2023")
    manifest = (source / "dossier.toml").read_text("utf-8").replace(
        'evidence = ["通知.pdf"]', "evidence = []"
    )
    (tmp_path / "dossier.toml").write_text(manifest, "utf-8")
    (tmp_path / "package.txt").write_bytes((source / "package.txt").read_bytes())
    package = load_package(tmp_path / "dossier.toml")
    rubric = load_rubric(Path("rubrics/yueyang-fujian5/2024.1.toml"), [BUNDLED_RULES])
    _, explanation = Evaluator(python_backend).explain(
        package, rubric, mode="precheck", as_of=AS_OF
    )
    not_issued = next(r for r in explanation["rules"] if r["rule"] == "notice.not-issued")
    assert not not_issued["fired"]
    assert "待补充材料" in not_issued["outcome"]
    text = render_explanation(explanation)
    assert "[notice.not-issued]" in text
    assert "← 选定" in text
